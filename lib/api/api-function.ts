import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ICommandHooks, NodejsFunction, NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_BUNDLE_ROOT, LAMBDA_SOURCE_ROOT } from '../package-paths';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';

/** Where the function sources of this package live in a checkout (`lambda/<name>/index.ts`). */
export const LAMBDA_ROOT = LAMBDA_SOURCE_ROOT;

/** Id of the stack-wide key that encrypts the log groups of every {@link CachePyramidFunction}. */
const FUNCTION_LOG_KEY_ID = 'CachePyramidFunctionLogKey';

/** Props for {@link CachePyramidFunction}. */
export interface CachePyramidFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'logRetention'> {
  /**
   * The folder under this package's `lambda/` that holds the adapter's `index.ts`, e.g. `api`.
   * Exactly one of `codeDir` and `entry`.
   * @default - none: `entry` is required
   */
  readonly codeDir?: string;
  /**
   * Absolute path of your own handler file (`.ts` or `.js`), bundled the same way. It may import
   * `cache-pyramid/runtime`: esbuild resolves it from your `node_modules` (the package's `exports`)
   * or, inside a checkout of this repository, through `tsconfig.json` `paths`. Exactly one of
   * `codeDir` and `entry`.
   * @default - none: `codeDir` is required
   */
  readonly entry?: string;
  /** How long the function's logs are kept (when no `logGroup` is given). @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Folders copied into the function's asset next to `index.js`, keyed by their name there, e.g.
   * `{ migrations: '/abs/path/db/migrations' }` (absolute source paths).
   * @default - none
   */
  readonly assetFolders?: Readonly<Record<string, string>>;
}

/**
 * A Node.js 24 arm64 function bundled by esbuild (minified, with source maps) from this package's
 * `lambda/<codeDir>/index.ts` or from your own `entry`, traced by X-Ray, logging to its own log
 * group kept for a year and encrypted with one KMS key shared by every such function of the stack.
 * Every function of the pyramid is one of these.
 */
export class CachePyramidFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: CachePyramidFunctionProps) {
    const { codeDir, entry, bundling, environment, logRetention, assetFolders, ...rest } = props;
    const resolvedEntry = resolveEntry(codeDir, entry);
    const prebuilt = resolvedEntry.kind === 'bundle' ? prebuiltCode(resolvedEntry.path, assetFolders ?? {}) : undefined;
    const logGroup =
      rest.logGroup ??
      new logs.LogGroup(scope, `${id}LogGroup`, {
        encryptionKey: functionLogKey(scope),
        retention: logRetention ?? logs.RetentionDays.ONE_YEAR,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    super(scope, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      ...(prebuilt === undefined ? { entry: resolvedEntry.path, handler: 'handler' } : { code: prebuilt, handler: 'index.handler' }),
      memorySize: 512,
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      ...rest,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        externalModules: ['@aws-sdk/*'],
        ...bundling,
        commandHooks: copyFoldersAfterBundling(assetFolders ?? {}, bundling?.commandHooks),
      },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole grants only CreateLogGroup/CreateLogStream/PutLogEvents, the minimum a function needs to log; the managed policy is kept current by AWS.',
    });
    if (props.vpc !== undefined) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'AWSLambdaVPCAccessExecutionRole adds to the basic logging rights only the network-interface create/describe/delete calls Lambda makes to attach the function to its VPC; AWS keeps it current.',
      });
    }
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions (Resource must be *).',
    });
  }
}

/** Where a function's code comes from: a source file esbuild bundles at synth, or a folder bundled by `npm run build`. */
interface ResolvedEntry {
  readonly kind: 'source' | 'bundle';
  readonly path: string;
}

/**
 * The package's own function from its source in a checkout (so an edit is always what deploys), else
 * from the bundle `npm run build` made (an installed package ships no sources); or the given entry.
 * Checked before any resource exists.
 */
function resolveEntry(codeDir: string | undefined, entry: string | undefined): ResolvedEntry {
  if ((codeDir === undefined) === (entry === undefined)) {
    throw new Error(`CachePyramidFunction: pass exactly one of \`codeDir\` and \`entry\`, got ${codeDir === undefined ? 'neither' : `codeDir ${JSON.stringify(codeDir)} and entry ${JSON.stringify(entry)}`}`);
  }
  if (codeDir !== undefined) {
    const source = path.join(LAMBDA_ROOT, codeDir, 'index.ts');
    if (fs.existsSync(source)) return { kind: 'source', path: source };
    const bundle = path.join(FUNCTION_BUNDLE_ROOT, codeDir);
    if (fs.existsSync(path.join(bundle, 'index.js'))) return { kind: 'bundle', path: bundle };
    throw new Error(`CachePyramidFunction: \`codeDir\` ${JSON.stringify(codeDir)} has neither a source (${source}) nor a bundle (${bundle}/index.js; run npm run build)`);
  }
  const file = entry!;
  if (!path.isAbsolute(file)) {
    throw new Error(`CachePyramidFunction: \`entry\` must be an absolute path (use path.join(__dirname, ...)), got ${JSON.stringify(file)}`);
  }
  if (!/\.(ts|js|mjs|cjs|mts|cts)$/.test(file)) {
    throw new Error(`CachePyramidFunction: \`entry\` must be a .ts or .js file, got ${JSON.stringify(file)}`);
  }
  if (!fs.existsSync(file)) throw new Error(`CachePyramidFunction: \`entry\` must be an existing file, got ${JSON.stringify(file)}`);
  return { kind: 'source', path: file };
}

/** A prebuilt bundle as the function's code, with `assetFolders` copied in beside it (locally, never in Docker). */
function prebuiltCode(bundleDir: string, assetFolders: Readonly<Record<string, string>>): lambda.Code {
  if (Object.keys(assetFolders).length === 0) return lambda.Code.fromAsset(bundleDir);
  return lambda.Code.fromAsset(bundleDir, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: the local copy below always succeeds.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/busybox'),
      local: {
        tryBundle(outputDir: string): boolean {
          fs.cpSync(bundleDir, outputDir, { recursive: true });
          for (const [name, from] of Object.entries(assetFolders)) fs.cpSync(from, path.join(outputDir, name), { recursive: true });
          return true;
        },
      },
    },
  });
}

/** The same copy for a function esbuild bundles at synth, after any hooks of the caller's own. */
function copyFoldersAfterBundling(assetFolders: Readonly<Record<string, string>>, hooks: ICommandHooks | undefined): ICommandHooks | undefined {
  if (Object.keys(assetFolders).length === 0) return hooks;
  return {
    beforeBundling: (input, output) => hooks?.beforeBundling(input, output) ?? [],
    beforeInstall: (input, output) => hooks?.beforeInstall(input, output) ?? [],
    afterBundling: (input, output) => [
      ...(hooks?.afterBundling(input, output) ?? []),
      ...Object.entries(assetFolders).flatMap(([name, from]) => [`mkdir -p "${output}/${name}"`, `cp -R "${from}/." "${output}/${name}/"`]),
    ],
  };
}

/** One key per stack for every function log group: a key per function would cost without isolating anything more. */
function functionLogKey(scope: Construct): kms.IKey {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(FUNCTION_LOG_KEY_ID);
  if (existing instanceof kms.Key) return existing;
  const key = new kms.Key(stack, FUNCTION_LOG_KEY_ID, {
    description: `cache-pyramid function logs (${stack.stackName})`,
    enableKeyRotation: true,
    // Deleting the key would make the retained log groups unreadable.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  restrictKmsGrantsToAwsServices(key);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
      },
    }),
  );
  return key;
}
