import { CacheClient, CacheMetric, createRedis } from '../../../lambda/runtime/cache';
import { freePort } from '../../support/servers';
import { createObservability, METRICS_NAMESPACE } from '../../../lambda/runtime/observability';

interface EmfBlob {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [field: string]: unknown;
}

function captureStdout(work: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    work();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('createObservability', () => {
  test('publishes the cache metrics as EMF in the CachePyramid namespace with counts and milliseconds', () => {
    const { metrics, cacheMetrics } = createObservability({ serviceName: 'api', defaultDimensions: { stage: 'test' } });
    const lines = captureStdout(() => {
      cacheMetrics.count(CacheMetric.L1_HIT);
      cacheMetrics.count(CacheMetric.L1_HIT);
      cacheMetrics.count(CacheMetric.CACHE_ERROR, 3);
      cacheMetrics.timing(CacheMetric.ORIGIN_LOAD_LATENCY, 12.5);
      metrics.publishStoredMetrics();
    });
    const blobs = lines.map((line) => JSON.parse(line) as EmfBlob).filter((blob) => blob._aws);
    expect(blobs).toHaveLength(1);
    const [blob] = blobs;
    const directive = blob._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(METRICS_NAMESPACE).toBe('CachePyramid');
    expect(directive.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'L1Hit', Unit: 'Count' },
        { Name: 'CacheError', Unit: 'Count' },
        { Name: 'OriginLoadLatency', Unit: 'Milliseconds' },
      ]),
    );
    const total = (value: unknown) => (Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : value);
    expect(total(blob.L1Hit)).toBe(2);
    expect(total(blob.CacheError)).toBe(3);
    expect(blob.OriginLoadLatency).toBe(12.5);
    expect(blob.service).toBe('api');
    expect(blob.stage).toBe('test');
  });

  test('logs structured JSON with the service name', () => {
    const { logger } = createObservability({ serviceName: 'purger', logLevel: 'INFO' });
    const lines = captureStdout(() => logger.info('cache circuit breaker changed state', { shard: 'primary', to: 'open' }));
    const entry = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'INFO', message: 'cache circuit breaker changed state', service: 'purger', shard: 'primary', to: 'open' });
  });

  test('the Powertools logger is what the cache client logs circuit transitions to', async () => {
    const { logger } = createObservability({ serviceName: 'api', logLevel: 'INFO' });
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    // Powertools writes WARN and ERROR to stderr, the rest to stdout.
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    const client = new CacheClient(createRedis({ host: '127.0.0.1', port: await freePort() }), {
      logger,
      circuitBreaker: { failureThreshold: 1 },
    });
    try {
      await expect(client.get('k')).rejects.toThrow();
    } finally {
      spies.forEach((spy) => spy.mockRestore());
      await client.quit();
    }
    const opened = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.message === 'cache circuit breaker changed state');
    expect(opened).toMatchObject({ level: 'WARN', service: 'api', shard: 'primary', from: 'closed', to: 'open' });
  });
});
