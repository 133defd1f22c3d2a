/**
 * The default page in a real browser: the headless Chromium that `@sparticuz/chromium` ships on npm,
 * driven by playwright-core,
 * against `npm run dev` started with neither REDIS_URL nor DATABASE_URL, so the dev server starts
 * its own Redis and PostgreSQL, migrates and seeds them. The screenshot is kept as a test artefact
 * in test-artifacts/ (gitignored).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';
import { headlessChromium } from '../support/chromium';
import { freePort } from '../support/servers';
import { NODE, tsxArgs } from '../support/tsx';

const ROOT = path.join(__dirname, '..', '..');
export const ARTIFACTS_DIR = path.join(ROOT, 'test-artifacts');

jest.setTimeout(240_000);

describe('the default page against npm run dev (its own Redis and PostgreSQL)', () => {
  let dev: ChildProcess;
  let base: string;
  let output = '';
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    dev = spawn(NODE, tsxArgs('scripts/dev-server.ts'), { cwd: ROOT, env });
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 180_000;
    while (!output.includes('listening on')) {
      if (dev.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    base = `http://127.0.0.1:${port}`;
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-chromium-'));
    // A fresh profile per run (playwright passes it as --user-data-dir).
    const { executablePath, args } = headlessChromium();
    browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    if (dev && dev.exitCode === null) {
      // SIGTERM: the dev server stops the Redis and PostgreSQL it started.
      const exited = new Promise((r) => dev.once('exit', r));
      dev.kill('SIGTERM');
      await exited;
    }
  });

  it('says that it started its own servers, migrated and seeded', () => {
    expect(output).toMatch(/REDIS_URL is not set: started Redis at redis:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/DATABASE_URL is not set: started PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres, applied \d+ migrations, seeded 1000 products and 100 users/);
  });

  it('shows for each answer the layer that served it, and the counters per layer', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });

    const rows = await page.$$eval('#answers tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => (td as { textContent: string | null }).textContent ?? '')));
    // Newest first: the first product request came from the origin, the second from L1.
    const product = rows.filter((r) => r[1] === 'GET /api/products/1').reverse();
    const list = rows.filter((r) => r[1] === 'GET /api/products').reverse();
    expect(product.map((r) => [r[2], r[3]])).toEqual([
      ['200', 'origin'],
      ['200', 'l1'],
    ]);
    expect(list.map((r) => r[3])).toEqual(['origin', 'l1']);
    for (const r of [...product, ...list]) expect(r[5]).toMatch(/^(W\/)?"[^"]+"$/);

    const stats = await page.$$eval('#stats tbody tr', (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-layer'), Array.from(tr.querySelectorAll('td'), (td) => (td as { textContent: string | null }).textContent ?? '')])),
    );
    expect(stats['L1 (in-process)'][1]).toBe('2');
    expect(stats['origin (PostgreSQL)'][1]).toBe('2');
    expect(await page.textContent('#stats-note')).toMatch(/^4 reads, hit rate 50\.0 %$/);

    await page.click('#get-product');
    await page.waitForSelector('#answers tbody tr:nth-child(5)');
    expect(await page.textContent('#answers tbody tr:first-child td.layer')).toBe('l1');

    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'default-page.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
