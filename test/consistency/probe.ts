/**
 * The issue-10 probe: the eight reproduced cases, asked again of `npm run dev`'s core
 * (`startDevServer`: real HTTP, the Lambda runtime's wiring) over a real Redis and PostgreSQL started
 * on free ports, plus the synthesized reference stack for what only the infrastructure decides.
 * Run: `npx tsx test/consistency/probe.ts` — it prints one line per check and exits 1 if one fails.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { Pool } from 'pg';
import { OriginVerifier } from '../../lambda/runtime/http/origin-verify';
import { addCachePyramidStacks } from '../../lib/cache-pyramid-app';
import { loadStageConfig } from '../../lib/stages';
import { devJwtSettings, signDevToken } from '../../scripts/dev-auth';
import { startDevServer } from '../../scripts/dev-server';
import { seededDatabase } from '../lambda/runtime/db/support';
import { testApp } from '../support/cdk';
import { freePort, PostgresServer, RedisServer } from '../support/servers';
import { userSubject } from '../../db/seed/seed';

const results: { check: string; ok: boolean; seen: string }[] = [];
function report(check: string, ok: boolean, seen: unknown): void {
  results.push({ check, ok, seen: typeof seen === 'string' ? seen : JSON.stringify(seen) });
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${check}: ${typeof seen === 'string' ? seen : JSON.stringify(seen)}\n`);
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const postgres = await PostgresServer.start();
  const { url: databaseUrl, pool } = await seededDatabase(postgres, { products: 500, users: 5 });
  const env = { REDIS_URL: redis.url, DATABASE_URL: databaseUrl };
  const a = await startDevServer({ port: await freePort(), env, logger: silent });
  const b = await startDevServer({ port: await freePort(), env, logger: silent });
  const settings = devJwtSettings({});
  const token = async (sub: string, scopes: string[] = []) => `Bearer ${await signDevToken(settings, { sub, scopes })}`;
  const admin = await token(userSubject(1), ['products:write']);
  const json = { 'content-type': 'application/json' };
  try {
    await probeRoundTripAndInstances(a.url, b.url, admin, json);
    await probeCategoryMove(a.url, b.url, admin, json, pool);
    await probeOrders(a.url, await token(userSubject(2)), await token(userSubject(3)), json, pool);
    await probeRefusals(a.url, await token(userSubject(4)), json, redis);
    const canonical = await fetch(`${a.url}/api/products?page=%31`, { redirect: 'manual' });
    report('?page=%31 is refused or redirected to the canonical form', canonical.status === 400 || (canonical.status >= 300 && canonical.status < 400), `${canonical.status} ${canonical.headers.get('location') ?? ''}`.trim());
    await probeSecretThrottle();
    probeTemplate();
  } finally {
    await a.close();
    await b.close();
    await pool.end();
    await postgres.stop();
    await redis.stop();
  }
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`${results.length - failed.length}/${results.length} checks passed\n`);
  process.exitCode = failed.length === 0 ? 0 : 1;
}

async function probeRoundTripAndInstances(a: string, b: string, admin: string, json: Record<string, string>): Promise<void> {
  await fetch(`${b}/api/products/7`).then((r) => r.arrayBuffer());
  const got = (await (await fetch(`${a}/api/products/7`)).json()) as Record<string, unknown>;
  const put = await fetch(`${a}/api/products/7`, { method: 'PUT', headers: { ...json, authorization: admin }, body: JSON.stringify({ ...got, stock: Number(got.stock) + 1 }) });
  const saved = (await put.json()) as { version?: number };
  report('round trip: GET, then PUT of the same body with one field changed', put.status === 200, `${put.status}, version ${got.version} → ${saved.version}`);
  const other = await fetch(`${b}/api/products/7`);
  const seen = (await other.json()) as { version: number };
  report(
    'right after the PUT through one dev server, the other serves the new version',
    seen.version === saved.version,
    `version ${seen.version} from ${other.headers.get('x-cache')}, cache-control ${other.headers.get('cache-control')}`,
  );
}

async function probeCategoryMove(a: string, b: string, admin: string, json: Record<string, string>, pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ slug: string }>('select c.slug from products p join categories c on c.id = p.category_id group by c.slug order by count(*) desc, c.slug limit 2');
  const [from, to] = rows.map((r) => r.slug);
  const page = async (base: string, n: number) => (await (await fetch(`${base}/api/products?category=${from}${n === 1 ? '' : `&page=${n}`}`)).json()) as { items: { id: number }[] };
  const first = await page(a, 1);
  for (const base of [a, b]) for (const n of [1, 2, 3]) await page(base, n);
  const moved = first.items[0].id;
  const current = (await (await fetch(`${a}/api/products/${moved}`)).json()) as Record<string, unknown>;
  const put = await fetch(`${a}/api/products/${moved}`, { method: 'PUT', headers: { ...json, authorization: admin }, body: JSON.stringify({ ...current, category: to }) });
  const mismatches: string[] = [];
  for (const base of [a, b]) {
    for (const n of [1, 2, 3]) {
      const served = (await page(base, n)).items.map((p) => p.id);
      const truth = (
        await pool.query<{ id: string }>('select p.id from products p join categories c on c.id = p.category_id where c.slug = $1 order by p.id limit 20 offset $2', [from, (n - 1) * 20])
      ).rows.map((r) => Number(r.id));
      if (JSON.stringify(served) !== JSON.stringify(truth)) mismatches.push(`${base === a ? 'A' : 'B'} page ${n}`);
    }
  }
  report(`category move (product ${moved} ${from} → ${to}): every old-category page equals PostgreSQL on both servers`, put.status === 200 && mismatches.length === 0, `PUT ${put.status}; mismatches: ${mismatches.join(', ') || 'none'}`);
}

async function probeOrders(base: string, owner: string, stranger: string, json: Record<string, string>, pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ next: string }>("select coalesce(max(id), 0) + 1 as next from orders");
  const nextId = Number(rows[0].next);
  const before = await fetch(`${base}/api/orders/${nextId}`, { headers: { authorization: owner } });
  await before.arrayBuffer();
  const placed = await fetch(`${base}/api/orders`, { method: 'POST', headers: { ...json, authorization: owner }, body: JSON.stringify({ items: [{ productId: 3, quantity: 1 }] }) });
  const order = (await placed.json()) as { id: number };
  const after = await fetch(`${base}/api/orders/${order.id}`, { headers: { authorization: owner } });
  await after.arrayBuffer();
  report('an order read as missing, then placed, is served to its owner at once', before.status === 404 && placed.status === 201 && order.id === nextId && after.status === 200, `GET ${before.status} → POST ${placed.status} (id ${order.id}) → GET ${after.status} ${after.headers.get('x-cache')}`);
  const theirs = await fetch(`${base}/api/orders/${order.id}`, { headers: { authorization: stranger } });
  const missing = await fetch(`${base}/api/orders/${order.id + 1000}`, { headers: { authorization: stranger } });
  const [theirsBody, missingBody] = [await theirs.text(), await missing.text()];
  const same = theirs.status === missing.status && theirsBody.replace(String(order.id), 'N') === missingBody.replace(String(order.id + 1000), 'N');
  report("another user's order answers exactly like a missing one", same, `${theirs.status} vs ${missing.status}`);
}

async function probeRefusals(base: string, user: string, json: Record<string, string>, redis: RedisServer): Promise<void> {
  const surrogate = '{"bio":"hello \\ud800 world"}';
  const accepted = await fetch(`${base}/api/users/4/profile`, { method: 'PATCH', headers: { ...json, authorization: user }, body: surrogate });
  report('PATCH with a lone surrogate in the bio', accepted.status === 400, `${accepted.status} ${await accepted.text()}`);
  const nul = await fetch(`${base}/api/users/4/profile`, { method: 'PATCH', headers: { ...json, authorization: user }, body: '{"displayName":"a\\u0000b"}' });
  report('PATCH with a NUL in the display name', nul.status === 400, `${nul.status}`);
  redis.pause();
  try {
    const down = await fetch(`${base}/api/users/4/profile`, { method: 'PATCH', headers: { ...json, authorization: user }, body: surrogate });
    report('the same lone surrogate with Redis down', down.status === 400, `${down.status}`);
  } finally {
    redis.resume();
  }
}

async function probeSecretThrottle(): Promise<void> {
  let now = 0;
  let reads = 0;
  const verifier = new OriginVerifier(
    async () => {
      reads += 1;
      if (reads > 1) throw new Error('Secrets Manager unavailable');
      return 'secret';
    },
    { now: () => now },
  );
  await verifier.load();
  for (let i = 0; i < 600; i++) {
    now = 300_000 + i * 1_000;
    await verifier.verify(`wrong-${i}`);
  }
  report('600 wrong headers over 10 minutes with Secrets Manager failing', reads <= 4, `${reads} reads of the secret (1 at load, then at most one per 5 minutes)`);
}

function probeTemplate(): void {
  const app = testApp({ stage: 'dev' });
  const template = Template.fromStack(addCachePyramidStacks(app, loadStageConfig(app)).pyramid);
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources;
  const rule = Object.values(resources).find((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.EventPattern).includes('CacheInvalidation'))!;
  const targets = (rule.Properties.Targets as { Arn: unknown }[]).map((t) => JSON.stringify(t.Arn));
  const delay = Object.values(resources)
    .map((r) => (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.CDN_PURGE_DELAY_SECONDS)
    .find((v) => v !== undefined);
  report('CacheInvalidation reaches only the Redis purger, which forwards the CDN purge with a delay', targets.length === 1 && targets[0].includes('RedisPurgeQueue') && delay === '15', `targets ${targets.join(', ')}; CDN_PURGE_DELAY_SECONDS ${String(delay)}`);
  const distribution = Object.values(resources).find((r) => r.Type === 'AWS::CloudFront::Distribution')!;
  const behaviour = ((distribution.Properties.DistributionConfig as { CacheBehaviors: { PathPattern: string; CachePolicyId: { Ref?: string } }[] }).CacheBehaviors).find((c) => c.PathPattern === '/api/products/*')!;
  const policy = resources[behaviour.CachePolicyId.Ref!].Properties.CachePolicyConfig as { ParametersInCacheKeyAndForwardedToOrigin: { HeadersConfig: { HeaderBehavior: string; Headers?: string[] } } };
  const headers = policy.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig;
  report('/api/products/* does not key the edge on Authorization', headers.HeaderBehavior === 'none' || !(headers.Headers ?? []).some((h) => h.toLowerCase() === 'authorization'), headers);
}

main().catch((error: unknown) => {
  process.stderr.write(`probe failed to run: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 2;
});
