import { SendMessageBatchCommand, SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { QueueSendError } from '../../../../lambda/runtime/errors';
import { FifoEntry, planBatches, sendFifoBatch } from '../../../../lambda/runtime/write-behind/sqs-batch';
import { SqsProfileChangeQueue } from '../../../../lambda/shop/write-behind/queue';
import { change } from './support';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/write-behind.fifo';

function entry(id: string, group: string, body = `body ${id}`): FifoEntry {
  return { Id: id, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: `dedup-${id}` };
}

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'eu-west-1' });
const noSleep = { sleep: async () => undefined };

beforeEach(() => sqsMock.reset());
afterAll(() => sqsMock.restore());

function sentIds(): string[][] {
  return sqsMock.commandCalls(SendMessageBatchCommand).map((call) => (call.args[0].input as SendMessageBatchCommandInput).Entries!.map((e) => e.Id!));
}

describe('planBatches', () => {
  it('puts at most 10 entries in a call', () => {
    const entries = Array.from({ length: 25 }, (_, i) => entry(`e${i}`, `g${i}`));
    expect(planBatches(entries).map((b) => b.length)).toEqual([10, 10, 5]);
  });

  it('never puts two entries of one message group in one call, and keeps each group in order', () => {
    const entries = [entry('a1', 'a'), entry('b1', 'b'), entry('a2', 'a'), entry('c1', 'c'), entry('a3', 'a')];
    expect(planBatches(entries).map((b) => b.map((e) => e.Id))).toEqual([['a1', 'b1'], ['a2', 'c1'], ['a3']]);
  });

  it('keeps a call under 256 KiB and refuses a single message above it', () => {
    const big = 'x'.repeat(100 * 1024);
    expect(planBatches([entry('a', 'a', big), entry('b', 'b', big), entry('c', 'c', big)]).map((b) => b.length)).toEqual([2, 1]);
    expect(() => planBatches([entry('huge', 'h', 'x'.repeat(257 * 1024))])).toThrow(/message huge is 263168 bytes, above the SQS limit of 262144/);
  });
});

describe('sendFifoBatch', () => {
  it('sends everything in calls of 10 when SQS accepts every entry', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({ Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] }));
    await sendFifoBatch(sqs, QUEUE_URL, Array.from({ length: 12 }, (_, i) => entry(`e${i}`, `g${i}`)), noSleep);
    expect(sentIds()).toEqual([
      ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9'],
      ['e10', 'e11'],
    ]);
  });

  it('retries only the entries that failed, with growing backoff, until they are accepted', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: 'a', MessageId: '1', MD5OfMessageBody: '' }], Failed: [{ Id: 'b', Code: 'ThrottlingException', SenderFault: false }, { Id: 'c', Code: 'InternalError', SenderFault: false }] })
      .resolvesOnce({ Successful: [{ Id: 'c', MessageId: '3', MD5OfMessageBody: '' }], Failed: [{ Id: 'b', Code: 'ThrottlingException', SenderFault: false }] })
      .resolvesOnce({ Successful: [{ Id: 'b', MessageId: '2', MD5OfMessageBody: '' }], Failed: [] });
    const delays: number[] = [];
    await sendFifoBatch(sqs, QUEUE_URL, [entry('a', 'ga'), entry('b', 'gb'), entry('c', 'gc')], { sleep: async (ms) => void delays.push(ms), random: () => 1, baseDelayMs: 50 });
    expect(sentIds()).toEqual([['a', 'b', 'c'], ['b', 'c'], ['b']]);
    expect(delays).toEqual([50, 100]);
  });

  it('gives up after maxAttempts and names the unsent entries in a QueueSendError', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.filter((e) => e.Id !== 'b').map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
      Failed: input.Entries!.filter((e) => e.Id === 'b').map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const error = await sendFifoBatch(sqs, QUEUE_URL, [entry('a', 'ga'), entry('b', 'gb')], { ...noSleep, maxAttempts: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueSendError);
    expect((error as QueueSendError).unsentIds).toEqual(['b']);
    expect((error as QueueSendError).message).toMatch(/b: InternalError \(after 3 attempts\)/);
    expect(sentIds()).toEqual([['a', 'b'], ['b'], ['b']]);
  });

  it('never retries an entry SQS blames on the sender', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: 'a', Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad group' }] });
    const error = (await sendFifoBatch(sqs, QUEUE_URL, [entry('a', 'ga')], noSleep).catch((e: unknown) => e)) as QueueSendError;
    expect(error.unsentIds).toEqual(['a']);
    expect(error.message).toMatch(/a: InvalidParameterValue bad group \(sender fault\)/);
    expect(sentIds()).toEqual([['a']]);
  });

  it('holds back the later entries of a group whose entry failed, and sends the other groups', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.filter((e) => e.Id !== 'a1').map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
      Failed: input.Entries!.filter((e) => e.Id === 'a1').map((e) => ({ Id: e.Id, Code: 'InvalidMessageContents', SenderFault: true })),
    }));
    const error = (await sendFifoBatch(sqs, QUEUE_URL, [entry('a1', 'a'), entry('b1', 'b'), entry('a2', 'a'), entry('b2', 'b')], noSleep).catch((e: unknown) => e)) as QueueSendError;
    expect(error.unsentIds).toEqual(['a1', 'a2']);
    expect(sentIds()).toEqual([['a1', 'b1'], ['b2']]);
  });

  it('reports every entry not yet sent when the call itself fails', async () => {
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageId: `${i}`, MD5OfMessageBody: '' })), Failed: [] }).rejects(new Error('getaddrinfo ENOTFOUND sqs.eu-west-1.amazonaws.com'));
    const error = (await sendFifoBatch(sqs, QUEUE_URL, Array.from({ length: 12 }, (_, i) => entry(`e${i}`, `g${i}`)), noSleep).catch((e: unknown) => e)) as QueueSendError;
    expect(error).toBeInstanceOf(QueueSendError);
    expect(error.unsentIds).toEqual(['e10', 'e11']);
    expect(error.message).toMatch(/ENOTFOUND/);
  });

  it('refuses duplicate entry ids before sending anything', async () => {
    await expect(sendFifoBatch(sqs, QUEUE_URL, [entry('a', 'g1'), entry('a', 'g2')], noSleep)).rejects.toThrow(/batch entry id a is used twice/);
    expect(sentIds()).toEqual([]);
  });
});

describe('SqsProfileChangeQueue', () => {
  it('sends each change to its user\'s message group with the change id as deduplication id', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({ Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] }));
    const c = change(42, 1_700_000_000_000_001, { displayName: 'Ada', avatarUrl: null });
    await new SqsProfileChangeQueue(sqs, QUEUE_URL).enqueue([c]);
    const input = sqsMock.commandCalls(SendMessageBatchCommand)[0].args[0].input as SendMessageBatchCommandInput;
    expect(input.QueueUrl).toBe(QUEUE_URL);
    expect(input.Entries).toEqual([{ Id: 'c0', MessageGroupId: 'user-42', MessageDeduplicationId: c.changeId, MessageBody: expect.any(String) }]);
    expect(JSON.parse(input.Entries![0].MessageBody!)).toEqual(c);
  });

  it('refuses a queue that is not FIFO', () => {
    expect(() => new SqsProfileChangeQueue(sqs, 'https://sqs.eu-west-1.amazonaws.com/123456789012/write-behind')).toThrow(/must be an SQS FIFO queue/);
  });
});
