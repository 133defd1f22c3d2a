/**
 * `cache-pyramid dev` run as a user runs it, in its own process: a team's TypeScript handler (the
 * README's shape, importing only `cache-pyramid/runtime`) served over real HTTP on the Redis and
 * PostgreSQL the command starts, migrated with the app's migrations.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { NODE, tsxArgs } from '../../support/tsx';
import { cli } from './support';
import { ExitCode } from '../../../lib/ops/errors';
import { decodeBearer } from '../../../lib/ops/dev';

jest.setTimeout(120_000);

const APP = path.join(__dirname, 'fixtures', 'dev-app');

/** Starts `cache-pyramid dev` and resolves once it prints its URL. */
function startDev(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(NODE, tsxArgs('lib/ops/cli.ts', 'dev', ...args), { env: { ...process.env, REDIS_URL: '', DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`cache-pyramid dev exited with ${code}:\n${output}`)));
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`cache-pyramid dev printed no URL within 90 s:\n${output}`));
    }, 90_000);
    timer.unref();
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('cache-pyramid dev', () => {
  it("serves the team's handler on a Redis and PostgreSQL it starts and migrates, through the origin check, and stops them on SIGINT", async () => {
    const dev = await startDev(['--handler', path.join(APP, 'handler.ts'), '--migrations', path.join(APP, 'migrations'), '--port', '0']);
    try {
      expect(dev.output()).toMatch(/started Redis at redis:\/\/127\.0\.0\.1:\d+/);
      expect(dev.output()).toMatch(/started PostgreSQL at postgres:\/\/.*applied 1 migrations/);
      const first = await fetch(`${dev.url}/api/recipes/bread`);
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ slug: 'bread', title: 'Bread' });
      expect(first.headers.get('x-cache')).toBe('origin');
      expect(first.headers.get('cache-control')).toMatch(/max-age=600\b/);
      expect((await fetch(`${dev.url}/api/recipes/bread`)).headers.get('x-cache')).toBe('l1');
      expect((await fetch(`${dev.url}/api/recipes/cake`)).status).toBe(404);
      expect((await fetch(`${dev.url}/nothing`)).status).toBe(404);
      expect((await fetch(`${dev.url}/api/recipes/bread`, { headers: { authorization: 'Bearer not-a-jwt' } })).status).toBe(401);
    } finally {
      expect(await stop(dev.child)).toBe(0);
    }
    expect(dev.output()).toContain('SIGINT: closing');
  });

  it('refuses a missing --handler, a handler that does not exist, and a port that is not one', async () => {
    expect(await cli(['dev'])).toMatchObject({ code: ExitCode.USAGE, stderr: expect.stringContaining('dev needs --handler FILE') });
    expect(await cli(['dev', '--handler', 'nowhere.ts'])).toMatchObject({ code: ExitCode.USAGE, stderr: expect.stringMatching(/--handler .*nowhere\.ts does not exist/) });
    expect(await cli(['dev', '--handler', 'x.ts', '--port', 'http'])).toMatchObject({ code: ExitCode.USAGE, stderr: expect.stringContaining("--port must be an integer between 0 and 65535, got 'http'") });
  });
});

describe('decodeBearer', () => {
  it('passes the claims and scopes of a bearer JWT as the authorizer would, and refuses what is not one', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'ada', scope: 'recipes:write recipes:read', exp: 1 })).toString('base64url');
    expect(decodeBearer(`Bearer e30.${payload}.sig`)).toEqual({ claims: { sub: 'ada', scope: 'recipes:write recipes:read', exp: '1' }, scopes: ['recipes:write', 'recipes:read'] });
    expect(decodeBearer(undefined)).toBeUndefined();
    expect(() => decodeBearer('Basic abc')).toThrow('the Authorization header is not "Bearer <jwt>"');
  });
});
