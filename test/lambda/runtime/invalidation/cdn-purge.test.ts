import { CloudFrontClient, CloudFrontServiceException, CreateInvalidationCommand, CreateInvalidationCommandInput } from '@aws-sdk/client-cloudfront';
import { mockClient } from 'aws-sdk-client-mock';
import { CdnPurgeOptions, CdnPurgeRecord, callerReferenceFor, purgeCdnPaths } from '../../../../lambda/runtime/invalidation/cdn-purge';
import { InMemoryInvalidationMetrics, InvalidationMetric } from '../../../../lambda/runtime/invalidation/observability';

const cloudFrontMock = mockClient(CloudFrontClient);

function serviceError(name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client'): CloudFrontServiceException {
  return new CloudFrontServiceException({ name, $fault: fault, message: `${name} happened`, $metadata: { httpStatusCode: status } });
}

function created(id = 'I1') {
  return { Invalidation: { Id: id, Status: 'InProgress', CreateTime: new Date(0), InvalidationBatch: { CallerReference: 'x', Paths: { Quantity: 0 } } } };
}

interface Harness {
  readonly options: CdnPurgeOptions;
  readonly metrics: InMemoryInvalidationMetrics;
  readonly sleeps: number[];
  readonly clock: { now: number };
}

function harness(overrides: Partial<CdnPurgeOptions> = {}): Harness {
  const metrics = new InMemoryInvalidationMetrics();
  const sleeps: number[] = [];
  const clock = { now: 0 };
  const options: CdnPurgeOptions = {
    cloudFront: new CloudFrontClient({ region: 'us-east-1' }),
    distributionId: 'E2EXAMPLE',
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    random: () => 0.5,
    now: () => clock.now,
    deadline: 60_000,
    metrics,
    ...overrides,
  };
  return { options, metrics, sleeps, clock };
}

function sentBatches(): CreateInvalidationCommandInput[] {
  return cloudFrontMock.commandCalls(CreateInvalidationCommand).map((call) => call.args[0].input);
}

beforeEach(() => cloudFrontMock.reset());

describe('purgeCdnPaths', () => {
  const records: CdnPurgeRecord[] = [
    { id: 'm1', paths: ['/api/products/1', '/api/products?page=1'] },
    { id: 'm2', paths: ['/api/products/1', '/api/products/2'] },
    { id: 'm3', paths: ['/static/*', '/static/app.js'] },
  ];

  it('creates one invalidation for the whole batch with deduplicated, sorted paths', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).resolves(created('INV1'));
    const { options, metrics } = harness();

    const outcome = await purgeCdnPaths(records, options);

    expect(sentBatches()).toHaveLength(1);
    const batch = sentBatches()[0];
    expect(batch.DistributionId).toBe('E2EXAMPLE');
    expect(batch.InvalidationBatch?.Paths).toEqual({ Quantity: 4, Items: ['/api/products/1', '/api/products/2', '/api/products?page=1', '/static/*'] });
    expect(batch.InvalidationBatch?.CallerReference).toBe(
      callerReferenceFor('E2EXAMPLE', ['m1', 'm2', 'm3'], ['/api/products/1', '/api/products/2', '/api/products?page=1', '/static/*']),
    );
    expect([...outcome.succeeded].sort()).toEqual(['m1', 'm2', 'm3']);
    expect(outcome.invalidations).toEqual([expect.objectContaining({ id: 'INV1' })]);
    expect(metrics.get(InvalidationMetric.PATHS_REQUESTED)).toBe(6);
    expect(metrics.get(InvalidationMetric.PATHS_SUBMITTED)).toBe(4);
    expect(metrics.get(InvalidationMetric.INVALIDATIONS_CREATED)).toBe(1);
    expect(metrics.get(InvalidationMetric.PATHS_COLLAPSED)).toBe(0);
  });

  it('sends the same CallerReference when the same batch is retried, and a new one for a later event', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).resolves(created());
    const { options } = harness();
    await purgeCdnPaths(records, options);
    await purgeCdnPaths([...records].reverse(), options);
    await purgeCdnPaths([{ id: 'm9', paths: records[0].paths }], options);
    const references = sentBatches().map((b) => b.InvalidationBatch?.CallerReference);
    expect(references[0]).toBe(references[1]);
    expect(references[2]).not.toBe(references[0]);
  });

  it('treats InvalidationBatchAlreadyExists as success', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).rejects(serviceError('InvalidationBatchAlreadyExists', 409));
    const { options, metrics } = harness();
    const outcome = await purgeCdnPaths(records, options);
    expect([...outcome.succeeded].sort()).toEqual(['m1', 'm2', 'm3']);
    expect(outcome.retry).toEqual([]);
    expect(metrics.get(InvalidationMetric.INVALIDATIONS_CREATED)).toBe(1);
  });

  it.each([
    ['TooManyInvalidationsInProgress', serviceError('TooManyInvalidationsInProgress', 400)],
    ['throttling', serviceError('Throttling', 400)],
    ['a 503', serviceError('ServiceUnavailable', 503)],
    ['a network error', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })],
  ])('backs off with jitter and succeeds after %s', async (_label, error) => {
    cloudFrontMock.on(CreateInvalidationCommand).rejectsOnce(error).rejectsOnce(error).resolves(created());
    const { options, metrics, sleeps } = harness({ random: () => 0.5 });

    const outcome = await purgeCdnPaths(records, options);

    expect(outcome.succeeded).toHaveLength(3);
    expect(sentBatches()).toHaveLength(3);
    // Full jitter: half of the 500 ms, then half of the doubled 1000 ms ceiling.
    expect(sleeps).toEqual([250, 500]);
    expect(metrics.get(InvalidationMetric.INVALIDATION_RETRIES)).toBe(2);
    // Every attempt carries the same reference, so a call that did land is not duplicated.
    expect(new Set(sentBatches().map((b) => b.InvalidationBatch?.CallerReference)).size).toBe(1);
  });

  it('returns every record to the queue when CloudFront keeps throttling, dropping none', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).rejects(serviceError('TooManyInvalidationsInProgress', 400));
    const { options, metrics, sleeps } = harness();

    const outcome = await purgeCdnPaths(records, options);

    expect(outcome.succeeded).toEqual([]);
    expect(outcome.retry.map((r) => r.id).sort()).toEqual(['m1', 'm2', 'm3']);
    expect(outcome.retry[0].error).toMatch(/TooManyInvalidationsInProgress/);
    expect(sentBatches()).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    expect(metrics.get(InvalidationMetric.INVALIDATION_FAILURES)).toBe(1);
  });

  it('does not wait past the deadline: the records go back to the queue instead', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).rejects(serviceError('InternalError', 500));
    const { options, sleeps } = harness({ deadline: 100, random: () => 0.99 });
    const outcome = await purgeCdnPaths(records, options);
    expect(sleeps).toEqual([]);
    expect(sentBatches()).toHaveLength(1);
    expect(outcome.retry).toHaveLength(3);
  });

  it('does not retry a configuration error in the invocation; the queue retries it later', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).rejects(serviceError('AccessDenied', 403));
    const { options, sleeps } = harness();
    const outcome = await purgeCdnPaths(records, options);
    expect(sleeps).toEqual([]);
    expect(outcome.retry.map((r) => r.error)).toEqual(Array(3).fill('AccessDenied: AccessDenied happened'));
  });

  it('isolates the record CloudFront refuses as a bad request; the others are invalidated', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).callsFake((input: CreateInvalidationCommandInput) => {
      if (input.InvalidationBatch?.Paths?.Items?.includes('/refused-by-cloudfront')) throw serviceError('InvalidArgument', 400);
      return created();
    });
    const { options } = harness();
    const batch: CdnPurgeRecord[] = [
      { id: 'a', paths: ['/a'] },
      { id: 'b', paths: ['/b'] },
      { id: 'bad', paths: ['/refused-by-cloudfront'] },
      { id: 'c', paths: ['/c'] },
    ];

    const outcome = await purgeCdnPaths(batch, options);

    expect(outcome.refused).toEqual([{ id: 'bad', reason: 'CloudFront refused the paths of this record: InvalidArgument: InvalidArgument happened' }]);
    expect([...outcome.succeeded].sort()).toEqual(['a', 'b', 'c']);
    const invalidated = outcome.invalidations.flatMap((i) => i.paths).sort();
    expect(invalidated).toEqual(['/a', '/b', '/c']);
  });

  it('reports paths the rules refuse per record, and still invalidates the valid rest', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).resolves(created());
    const { options, metrics } = harness();
    const outcome = await purgeCdnPaths(
      [
        { id: 'mixed', paths: ['/ok', 'no-slash', '/a*b'] },
        { id: 'all-bad', paths: ['/~x'] },
      ],
      options,
    );
    expect(sentBatches()[0].InvalidationBatch?.Paths?.Items).toEqual(['/ok']);
    expect([...outcome.succeeded].sort()).toEqual(['all-bad', 'mixed']);
    expect(outcome.rejectedPaths.get('mixed')).toEqual([
      { path: 'no-slash', reason: 'a path must begin with "/"' },
      { path: '/a*b', reason: expect.stringMatching(/only as the last character/) },
    ]);
    expect(outcome.rejectedPaths.get('all-bad')).toHaveLength(1);
    expect(metrics.get(InvalidationMetric.PATHS_REJECTED)).toBe(3);
  });

  it('makes no call when no record has a valid path', async () => {
    const { options } = harness();
    const outcome = await purgeCdnPaths([{ id: 'x', paths: ['bad'] }], options);
    expect(sentBatches()).toHaveLength(0);
    expect(outcome.succeeded).toEqual(['x']);
  });

  it('collapses an over-budget batch into prefix wildcards and counts the collapsed paths', async () => {
    cloudFrontMock.on(CreateInvalidationCommand).resolves(created());
    const { options, metrics } = harness({ budget: { maxFiles: 10, maxWildcards: 15 } });
    const many: CdnPurgeRecord[] = Array.from({ length: 50 }, (_, i) => ({ id: `m${i}`, paths: [`/api/products/${i}`] }));
    many.push({ id: 'home', paths: ['/index.html'] });

    await purgeCdnPaths(many, options);

    expect(sentBatches()[0].InvalidationBatch?.Paths?.Items).toEqual(['/api/products/*', '/index.html']);
    expect(metrics.get(InvalidationMetric.PATHS_COLLAPSED)).toBe(50);
    expect(metrics.get(InvalidationMetric.PATHS_SUBMITTED)).toBe(2);
  });
});
