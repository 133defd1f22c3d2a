import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CachePyramidFunction } from '../../../lib/api/api-function';
import { bundlingApp, testStack } from '../../support/cdk';

const USER_HANDLER = path.join(__dirname, 'fixtures', 'user-handler.ts');
const REPO_ROOT = path.join(__dirname, '..', '..', '..');

/** The bundled `index.js` of the only function of the synthesised stack. */
function bundledCode(stack: ReturnType<typeof testStack>): string {
  const assembly = stack.node.root as unknown as { synth(): { directory: string } };
  const outdir = assembly.synth().directory;
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
  const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  return fs.readFileSync(path.join(outdir, `asset.${assetHash}`, 'index.js'), 'utf8');
}

describe('CachePyramidFunction', () => {
  describe('from a user entry', () => {
    it('bundles a handler that imports cache-pyramid/runtime inside this repository (tsconfig paths), runnable as deployed', async () => {
      const stack = testStack({}, bundlingApp());
      new CachePyramidFunction(stack, 'Widgets', { entry: USER_HANDLER });
      const code = bundledCode(stack);
      expect(code.includes('require("cache-pyramid/runtime")')).toBe(false);
      // Inside the repository, so that the AWS SDK the bundle leaves external resolves as Lambda provides it.
      fs.mkdirSync(path.join(REPO_ROOT, 'node_modules', '.cache'), { recursive: true });
      const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'node_modules', '.cache', 'cp-fn-'));
      fs.writeFileSync(path.join(dir, 'index.js'), code);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(path.join(dir, 'index.js')) as { handler: (e: object) => Promise<{ statusCode: number; body: string }> };
      await expect(handler({ rawPath: '/api/widgets/42', rawQueryString: '' })).resolves.toEqual({ statusCode: 200, body: '{"id":42}' });
      await expect(handler({ rawPath: '/api/gadgets/42', rawQueryString: '' })).resolves.toEqual({ statusCode: 404, body: 'null' });
    });

    it('resolves cache-pyramid/runtime from the node_modules of a project outside this repository (package exports)', () => {
      const project = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-user-'));
      const runtime = path.join(project, 'node_modules', 'cache-pyramid');
      fs.mkdirSync(path.join(runtime, 'dist', 'lambda', 'runtime'), { recursive: true });
      fs.writeFileSync(
        path.join(runtime, 'package.json'),
        JSON.stringify({ name: 'cache-pyramid', exports: { './runtime': { default: './dist/lambda/runtime/index.js' } } }),
      );
      fs.writeFileSync(path.join(runtime, 'dist', 'lambda', 'runtime', 'index.js'), 'exports.marker = "from the installed package";');
      // A user's project installs esbuild next to aws-cdk-lib, as NodejsFunction requires; here, this repository's.
      for (const dependency of ['esbuild', '@esbuild']) fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', dependency), path.join(project, 'node_modules', dependency));
      fs.mkdirSync(path.join(project, 'node_modules', '.bin'));
      fs.symlinkSync(path.join('..', 'esbuild', 'bin', 'esbuild'), path.join(project, 'node_modules', '.bin', 'esbuild'));
      fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify({ name: 'user-app', lockfileVersion: 3, packages: {} }));
      fs.writeFileSync(path.join(project, 'handler.js'), 'const { marker } = require("cache-pyramid/runtime");\nexports.handler = async () => marker;\n');

      const stack = testStack({}, bundlingApp());
      new CachePyramidFunction(stack, 'Widgets', { entry: path.join(project, 'handler.js'), depsLockFilePath: path.join(project, 'package-lock.json') });
      expect(bundledCode(stack).includes('from the installed package')).toBe(true);
    });

    it('keeps the settings of every pyramid function: Node.js 24 on arm64, X-Ray, source maps, its own encrypted log group', () => {
      const stack = testStack();
      const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      new CachePyramidFunction(stack, 'Widgets', { entry: USER_HANDLER, vpc, environment: { CACHE_TLS: 'true' } });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps', CACHE_TLS: 'true' } },
        VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^WidgetsLogGroup') } },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CachePyramidFunctionLogKey'), 'Arn'] },
      });
    });
  });

  describe('invalid props', () => {
    it.each([
      ['neither codeDir nor entry', {}, /pass exactly one of `codeDir` and `entry`, got neither/],
      ['both codeDir and entry', { codeDir: 'api', entry: USER_HANDLER }, /pass exactly one of `codeDir` and `entry`, got codeDir "api" and entry/],
      ['a relative entry', { entry: 'handler.ts' }, /`entry` must be an absolute path .*got "handler.ts"/],
      ['an entry that is not code', { entry: path.join(__dirname, 'fixtures') }, /`entry` must be a .ts or .js file/],
      ['a missing entry', { entry: path.join(__dirname, 'fixtures', 'missing.ts') }, /`entry` must be an existing file, got ".*missing.ts"/],
    ])('rejects %s', (_name, props, message) => {
      expect(() => new CachePyramidFunction(testStack(), 'Fn', props)).toThrow(message);
    });
  });
});
