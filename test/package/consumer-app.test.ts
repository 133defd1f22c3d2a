/**
 * The package as a team gets it: `npm pack`, the tarball installed into a new CDK app outside this
 * repository (examples/minimal, the files the README shows), with the lowest aws-cdk-lib of the peer
 * range and the newest. The app type-checks under NodeNext and node resolution, synthesizes with its
 * own resource derived into routes, a CloudFront behaviour and a cache policy, holds one copy of
 * aws-cdk-lib, runs `npx cache-pyramid --help`, and serves its handler with `cache-pyramid dev` on a
 * real Redis and PostgreSQL.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

jest.setTimeout(20 * 60_000);

const REPO = path.join(__dirname, '..', '..');
const MINIMAL_APP = path.join(REPO, 'examples', 'minimal');
const run = promisify(execFile);

/** Runs a command in `cwd` and gives its standard output; on failure the error carries its whole output. */
async function sh(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
  }
}

/** The lowest aws-cdk-lib the package promises to work with (`^2.276.0` → `2.276.0`). */
function lowestAwsCdkLib(): string {
  const range = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> }).peerDependencies['aws-cdk-lib'];
  const lowest = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (!lowest) throw new Error(`peerDependencies.aws-cdk-lib is not a caret range: ${range}`);
  return lowest;
}

/** A new app folder holding the minimal app's files (nothing else of this repository), with the tarball installed. */
async function scratchApp(root: string, name: string, tarball: string, awsCdkLib: string): Promise<string> {
  const app = path.join(root, name);
  fs.cpSync(MINIMAL_APP, app, { recursive: true, filter: (source) => !/(node_modules|cdk\.out|package-lock\.json)$/.test(source) });
  await sh(app, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, `aws-cdk-lib@${awsCdkLib}`]);
  return app;
}

interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;
}

function resourcesOf(template: Template, type: string): Record<string, unknown>[] {
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === type)
    .map((resource) => resource.Properties ?? {});
}

describe('the packed package in a new CDK app', () => {
  let root: string;
  let tarball: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-pyramid-consumer-'));
    // What prepack runs: the compiled library, the runtime and the function bundles.
    await sh(REPO, 'npm', ['run', 'build']);
    const packed = await sh(REPO, 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root]);
    const [{ filename, files }] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(root, filename);
    expect(files.filter((file) => /^(test|bench|reports|scripts|examples|\.ci|lambda|lib|site)\//.test(file.path))).toEqual([]);
    expect(fs.statSync(tarball).size).toBeLessThan(3 * 1024 * 1024);
  });

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  describe.each([
    ['the lowest aws-cdk-lib of the peer range', lowestAwsCdkLib()],
    ['the newest aws-cdk-lib', 'latest'],
  ])('with %s', (_label, awsCdkLib) => {
    let app: string;

    beforeAll(async () => {
      app = await scratchApp(root, `app-${awsCdkLib}`, tarball, awsCdkLib);
    });

    test('installs one copy of aws-cdk-lib and of constructs', async () => {
      for (const name of ['aws-cdk-lib', 'constructs']) {
        const copies = (await sh(app, 'npm', ['ls', name, '--all', '--parseable'])).split('\n').filter((line) => line.trim() !== '');
        expect(new Set(copies)).toEqual(new Set([path.join(app, 'node_modules', name)]));
      }
    });

    test('type-checks under NodeNext and under node module resolution', async () => {
      await sh(app, 'npx', ['tsc', '-p', 'tsconfig.json']);
      await sh(app, 'npx', ['tsc', '-p', 'tsconfig.json', '--module', 'commonjs', '--moduleResolution', 'node']);
    });

    test("synthesizes the app's own resource into its route, its CloudFront behaviour and its cache policy", async () => {
      await sh(app, 'npx', ['cdk', 'synth', '-q']);
      const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'Recipes.template.json'), 'utf8')) as Template;
      expect(resourcesOf(template, 'AWS::ApiGatewayV2::Route').map((route) => route.RouteKey)).toContain('GET /api/recipes/{slug}');
      const [distribution] = resourcesOf(template, 'AWS::CloudFront::Distribution') as { DistributionConfig: { CacheBehaviors: { PathPattern: string; CachePolicyId: { Ref: string } }[] } }[];
      const behaviour = distribution.DistributionConfig.CacheBehaviors.find((b) => b.PathPattern === '/api/recipes/*');
      expect(behaviour).toBeDefined();
      expect(template.Resources[behaviour!.CachePolicyId.Ref]).toMatchObject({
        Type: 'AWS::CloudFront::CachePolicy',
        Properties: { CachePolicyConfig: { ParametersInCacheKeyAndForwardedToOrigin: { HeadersConfig: { HeaderBehavior: 'none' } } } },
      });
      // The package's own functions deploy from the bundles it ships; the app's handler is bundled from its entry.
      const migrate = resourcesOf(template, 'AWS::Lambda::Function').find((fn) => String(fn.Description).startsWith('Applies migrations'));
      expect(migrate).toBeDefined();
    });

    test('runs npx cache-pyramid --help', async () => {
      expect(await sh(app, 'npx', ['cache-pyramid', '--help'])).toMatch(/^Usage: cache-pyramid <command>/);
    });
  });

  test("serves the app's handler with cache-pyramid dev on a Redis and PostgreSQL it starts and migrates", async () => {
    const app = path.join(root, 'app-latest');
    const dev = await startDev(app);
    try {
      const first = await fetch(`${dev.url}/api/recipes/bread`);
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ slug: 'bread', title: 'Bread' });
      expect(first.headers.get('cache-control')).toMatch(/max-age=600\b/);
      expect((await fetch(`${dev.url}/api/recipes/bread`)).headers.get('x-cache')).toBe('l1');
      expect((await fetch(`${dev.url}/api/recipes/cake`)).status).toBe(404);
    } finally {
      dev.child.kill('SIGINT');
      await new Promise((resolve) => dev.child.once('exit', resolve));
    }
  });
});

/**
 * The app's installed `cache-pyramid` bin running `dev`, resolved once it prints its URL. Started with
 * node itself rather than through npx, so that SIGINT reaches the command (npx does not pass it on).
 */
function startDev(app: string): Promise<{ child: ChildProcess; url: string }> {
  const bin = path.join(app, 'node_modules', '.bin', 'cache-pyramid');
  const child = spawn(process.execPath, [bin, 'dev', '--handler', 'handler.ts', '--migrations', 'migrations', '--port', '0'], {
    cwd: app,
    env: { ...process.env, REDIS_URL: '', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`cache-pyramid dev printed no URL within 120 s:\n${output}`));
    }, 120_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cache-pyramid dev exited with ${code}:\n${output}`));
    });
  });
}
