import { CloudFrontClient, CloudFrontServiceException, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { SQSClient, SendMessageCommand, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MAPPED_INVALIDATION_KIND } from '../../../lambda/runtime/invalidation/messages';
import { checkInvalidationMapping } from '../../../lambda/runtime/invalidation/templates';
import { eventBridgeBody, lambdaContext, sqsEvent, sqsRecord } from '../runtime/invalidation/sqs-records';

const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/111111111111/cdn-purge-dlq';
Object.assign(process.env, {
  DISTRIBUTION_ID: 'E2EXAMPLE',
  DEAD_LETTER_QUEUE_URL: DLQ_URL,
  MAX_RECEIVE_COUNT: '5',
  MAX_FILES_PER_INVALIDATION: '3000',
  MAX_WILDCARDS_PER_INVALIDATION: '15',
  CACHE_KEY_NAMESPACE: 'app',
  CACHE_KEY_SCHEMA_VERSION: '1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
});

const cloudFront = mockClient(CloudFrontClient);
const sqs = mockClient(SQSClient);
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  ({ handler } = await import('../../../lambda/cdn-purger'));
});

beforeEach(() => {
  cloudFront.reset();
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});

function deadLettered(): { body: string; reason: string; original: string; details?: string }[] {
  return sqs.commandCalls(SendMessageCommand).map((c) => {
    const input: SendMessageCommandInput = c.args[0].input;
    expect(input.QueueUrl).toBe(DLQ_URL);
    return {
      body: input.MessageBody!,
      reason: input.MessageAttributes!.DeadLetterReason.StringValue!,
      original: input.MessageAttributes!.OriginalMessageId.StringValue!,
      details: input.MessageAttributes!.DeadLetterDetails?.StringValue,
    };
  });
}

function invalidatedPaths(): string[][] {
  return cloudFront.commandCalls(CreateInvalidationCommand).map((c) => c.args[0].input.InvalidationBatch!.Paths!.Items!);
}

describe('cdn-purger handler', () => {
  it('invalidates the batch in one call and sends malformed, oversized and unknown events to the DLQ with the reason', async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: 'I1', Status: 'InProgress', CreateTime: new Date(), InvalidationBatch: undefined } });
    const mapping = checkInvalidationMapping({ source: 'shop.catalog', detailType: 'ProductUpdated', paths: ['/api/products/{detail.id}'] }, 'app:v1:');
    const records = [
      sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/api/products/1', '/api/products?page=1'] }), { messageId: 'good' }),
      sqsRecord(JSON.stringify({ kind: MAPPED_INVALIDATION_KIND, version: 1, mapping, event: JSON.parse(eventBridgeBody('ProductUpdated', { id: 2 }, 'shop.catalog')) }), { messageId: 'mapped' }),
      sqsRecord('{"detail-type": "CacheInvalidation", "detail": {', { messageId: 'malformed' }),
      sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/' + 'x'.repeat(400 * 1024)] }), { messageId: 'oversized' }),
      sqsRecord(eventBridgeBody('OrderShipped', { id: 3 }), { messageId: 'unknown' }),
    ];

    const response = await handler(sqsEvent(records), lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(invalidatedPaths()).toEqual([['/api/products/1', '/api/products/2', '/api/products?page=1']]);
    const dlq = deadLettered();
    expect(dlq.map((d) => [d.original, d.reason])).toEqual([
      ['malformed', expect.stringMatching(/^message body is not JSON/)],
      ['oversized', expect.stringMatching(/^message is \d+ bytes; at most 307200/)],
      ['unknown', 'unknown event: detail-type "OrderShipped" is not CacheInvalidation and no invalidateOn mapping wraps it'],
    ]);
    expect(dlq[0].body).toBe(records[2].body);
  });

  it('sends refused paths to the DLQ with their reasons and invalidates the rest of the record', async () => {
    cloudFront.on(CreateInvalidationCommand).resolves({});
    const record = sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/ok', '/~tilde', 'relative'] }), { messageId: 'mixed' });

    const response = await handler(sqsEvent([record]), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(invalidatedPaths()).toEqual([['/ok']]);
    const [dlq] = deadLettered();
    expect(dlq.reason).toBe("2 path(s) refused by the CloudFront rules; the record's other paths were invalidated");
    expect(JSON.parse(dlq.details!)).toEqual({
      rejected: [
        { path: '/~tilde', reason: 'CloudFront does not support "~" in invalidation paths, encoded or not' },
        { path: 'relative', reason: 'a path must begin with "/"' },
      ],
    });
  });

  it('returns throttled records to the queue, and dead-letters with the reason the one on its last receive', async () => {
    cloudFront.on(CreateInvalidationCommand).rejects(
      new CloudFrontServiceException({ name: 'TooManyInvalidationsInProgress', $fault: 'client', message: 'too many', $metadata: { httpStatusCode: 400 } }),
    );
    const fresh = sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/a'] }), { messageId: 'fresh', receiveCount: 1 });
    const last = sqsRecord(eventBridgeBody('CacheInvalidation', { paths: ['/b'] }), { messageId: 'last', receiveCount: 5 });

    // Little time left: no backoff wait fits, so the handler answers at once.
    const response = await handler(sqsEvent([fresh, last]), lambdaContext(3_500));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'fresh' }] });
    expect(deadLettered().map((d) => [d.original, d.reason])).toEqual([
      ['last', 'CloudFront did not accept the invalidation by receive 5 of 5: TooManyInvalidationsInProgress: too many'],
    ]);
  });

  it('returns a hopeless record to the queue when the DLQ itself cannot take it, so it is never lost', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('SQS unavailable'));
    const response = await handler(sqsEvent([sqsRecord('not json', { messageId: 'poison' })]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'poison' }] });
  });
});
