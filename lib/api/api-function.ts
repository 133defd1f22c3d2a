import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';

/** Where the function code of this package lives (`lambda/<name>/index.ts`). */
export const LAMBDA_ROOT = path.join(__dirname, '..', '..', 'lambda');

/** Props for {@link CachePyramidFunction}. */
export interface CachePyramidFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** Folder under `lambda/` holding the function's `index.ts`. */
  readonly functionName?: string;
  /** The folder under `lambda/` that holds the adapter's `index.ts`, e.g. `api`. */
  readonly codeDir: string;
}

/**
 * A Node.js 24 arm64 function bundled by esbuild (minified, with source maps) from this package's
 * `lambda/<codeDir>/index.ts`. Every function of the pyramid is one of these.
 */
export class CachePyramidFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: CachePyramidFunctionProps) {
    const { codeDir, bundling, environment, ...rest } = props;
    super(scope, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      entry: path.join(LAMBDA_ROOT, codeDir, 'index.ts'),
      handler: 'handler',
      memorySize: 512,
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      ...rest,
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
      },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole grants only CreateLogGroup/CreateLogStream/PutLogEvents, the minimum a function needs to log; the managed policy is kept current by AWS.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions (Resource must be *).',
    });
  }
}
