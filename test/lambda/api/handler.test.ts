/**
 * The Lambda function as deployed: lambda/api/index.ts bundled as CDK bundles it, loaded in a fresh
 * Node process per sandbox, configured only through the environment, its clients built on the first
 * invocation and reused by later ones. Secrets Manager (an AWS API that cannot run here) is the one
 * part mocked.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ApiEvent } from '../../../lambda/shop/api/api';
import type { ApiResponse } from '../../../lambda/runtime/http/response';
import { PostgresServer } from '../../support/servers';
import { describeEachTopology } from '../../support/topologies';
import { seededDatabase } from '../runtime/db/support';
import { bundleLikeCdk, NODE_PATH, REPO_ROOT } from './bundle';
import { apiEvent } from './support';

const run = promisify(execFile);
const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:origin-verify';

interface SandboxResult {
  responses: ApiResponse[];
  printed: string[];
  secretReads: number;
}

const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-api-bundle-'));
const FUNCTION_BUNDLE = path.join(buildDir, 'api', 'index.js');
const DRIVER_BUNDLE = path.join(buildDir, 'sandbox.js');

beforeAll(async () => {
  await bundleLikeCdk(path.join(REPO_ROOT, 'lambda', 'api', 'index.ts'), FUNCTION_BUNDLE);
  await bundleLikeCdk(path.join(__dirname, 'fixtures', 'sandbox.ts'), DRIVER_BUNDLE, ['aws-sdk-client-mock']);
});

afterAll(() => {
  fs.rmSync(buildDir, { recursive: true, force: true });
});

/** What CloudFront sends as `x-origin-verify` when a test does not give the secret's ARN: its local stand-in (`ORIGIN_VERIFY_SECRET`). */
const LOCAL_ORIGIN_SECRET = 'cf-local';

/**
 * Runs `events` through the bundled handler in a new sandbox process. Without `ORIGIN_VERIFY_SECRET_ARN`
 * in `env`, the events come through CloudFront: the function gets the local origin secret and each
 * event its header.
 */
async function sandbox(env: Record<string, string>, events: ApiEvent[], secrets: Record<string, string> = {}): Promise<SandboxResult> {
  if (env.ORIGIN_VERIFY_SECRET_ARN === undefined) {
    env = { ORIGIN_VERIFY_SECRET: LOCAL_ORIGIN_SECRET, ...env };
    events = events.map((e) => ({ ...e, headers: { 'x-origin-verify': LOCAL_ORIGIN_SECRET, ...e.headers } }));
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-sandbox-'));
  try {
    const input = path.join(dir, 'input.json');
    const output = path.join(dir, 'output.json');
    fs.writeFileSync(input, JSON.stringify({ env: { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: 'eu-west-1', ...env }, secrets, events }));
    await run(process.execPath, ['--enable-source-maps', DRIVER_BUNDLE, input, output, FUNCTION_BUNDLE], { env: { ...process.env, NODE_PATH } });
    return JSON.parse(fs.readFileSync(output, 'utf8')) as SandboxResult;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describeEachTopology('API Lambda handler', (topology) => {
  let server: PostgresServer;
  let databaseUrl: string;

  beforeAll(async () => {
    server = await PostgresServer.start();
    const seeded = await seededDatabase(server, { products: 20, users: 3 });
    databaseUrl = seeded.url;
    await seeded.pool.end();
  });

  afterAll(async () => {
    await server?.stop();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    const t = topology.current();
    const cache: Record<string, string> = t.kind === 'standalone' ? { REDIS_URL: t.url } : { REDIS_URL: `redis://${t.startupNodes[0].host}:${t.startupNodes[0].port}`, CACHE_CLUSTER_MODE: 'true' };
    return { ...cache, DATABASE_URL: databaseUrl, ...extra };
  }

  test("serves from the origin, then from the sandbox's L1, another sandbox from Redis, with EMF metrics", async () => {
    const first = await sandbox(env(), [apiEvent('/api/products/3'), apiEvent('/api/products/3')]);
    expect(first.responses.map((r) => [r.statusCode, r.headers['x-cache']])).toEqual([
      [200, 'origin'],
      [200, 'l1'],
    ]);
    const second = await sandbox(env(), [apiEvent('/api/products/3')]);
    expect(second.responses[0]).toMatchObject({ statusCode: 200, body: first.responses[0].body, headers: { 'x-cache': 'redis' } });

    const metrics = first.printed.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
    expect(metrics).toHaveLength(2);
    expect(metrics.map((m) => m._aws.CloudWatchMetrics[0].Namespace)).toEqual(['CachePyramid', 'CachePyramid']);
    expect(metrics[0]).toMatchObject({ OriginLoad: 1, service: 'api' });
    expect(metrics[1]).toMatchObject({ L1Hit: 1 });
  });

  test('with CACHE_L1_BUS=sync the bundled function subscribes, syncs at each invocation and still answers from L1', async () => {
    const result = await sandbox(env({ CACHE_L1_BUS: 'sync' }), [apiEvent('/api/products/4'), apiEvent('/api/products/4')]);
    expect(result.responses.map((r) => [r.statusCode, r.headers['x-cache']])).toEqual([
      [200, 'origin'],
      [200, 'l1'],
    ]);
  });

  test('with ORIGIN_VERIFY_SECRET_ARN, refuses requests without the header and reads the secret once per sandbox', async () => {
    const verified = { headers: { 'x-origin-verify': 'cf-only' } };
    const result = await sandbox(
      env({ ORIGIN_VERIFY_SECRET_ARN: ARN }),
      [apiEvent('/health'), apiEvent('/health', { headers: { 'x-origin-verify': 'nope' } }), apiEvent('/health', verified), apiEvent('/api/products/1', verified)],
      { [ARN]: 'cf-only' },
    );
    expect(result.responses.map((r) => r.statusCode)).toEqual([403, 403, 200, 200]);
    expect(result.secretReads).toBe(1);
  });

  test('a start that fails answers 503 with Retry-After and is retried by the next invocation', async () => {
    const verified = { headers: { 'x-origin-verify': 'cf-only' } };
    const result = await sandbox(env({ ORIGIN_VERIFY_SECRET_ARN: ARN }), [apiEvent('/health', verified), apiEvent('/health', verified)], { [ARN]: 'THROTTLE_ONCE:cf-only' });
    expect(result.responses[0]).toMatchObject({ statusCode: 503, headers: { 'retry-after': '5', 'cache-control': 'no-store' } });
    expect(result.responses[1].statusCode).toBe(200);
  });
});

test('without an origin-verify secret the function does not start: it answers 503 rather than serve callers that bypass CloudFront', async () => {
  const unreachable = { REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://u@127.0.0.1:1/d' };
  const result = await sandbox({ ...unreachable, ORIGIN_VERIFY_SECRET: '' }, [apiEvent('/health')]);
  expect(result.responses[0].statusCode).toBe(503);
  // The same sandbox with the secret starts and answers (unhealthy, but it answers).
  const configured = await sandbox(unreachable, [apiEvent('/health')]);
  expect(configured.responses[0].statusCode).not.toBe(503);
});

test.each([
  ['a TTL table', { CACHE_TTLS: '{"product": -1}' }],
  ['an L1 bus mode', { CACHE_L1_BUS: 'always' }],
])('a misconfigured environment (%s) answers 503 without detail', async (_, bad) => {
  const result = await sandbox({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://u@127.0.0.1:1/d', ...bad }, [apiEvent('/health')]);
  expect(result.responses[0].statusCode).toBe(503);
  expect(JSON.parse(result.responses[0].body)).toEqual({ error: { code: 'unavailable', message: 'the service is starting or misconfigured, retry later' } });
});
