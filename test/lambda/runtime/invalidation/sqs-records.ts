/** Real-shaped SQS records and events for the purger tests (what Lambda's SQS event source delivers). */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

let counter = 0;

export function sqsRecord(body: string, options: { messageId?: string; receiveCount?: number } = {}): SQSRecord {
  const messageId = options.messageId ?? `msg-${++counter}`;
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1700000000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1700000000001',
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:purge-queue',
    awsRegion: 'eu-west-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** An EventBridge event as the rule delivers it to SQS (the whole event is the body). */
export function eventBridgeBody(detailType: string, detail: unknown, source = 'cache-pyramid'): string {
  return JSON.stringify({
    version: '0',
    id: `ev-${++counter}`,
    'detail-type': detailType,
    source,
    account: '111111111111',
    time: '2025-06-01T12:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  });
}

export function lambdaContext(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'purger',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:purger',
    memoryLimitInMB: '512',
    awsRequestId: `req-${++counter}`,
    logGroupName: '/aws/lambda/purger',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
