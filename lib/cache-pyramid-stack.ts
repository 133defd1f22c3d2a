import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { CachePyramidFunction } from './api/api-function';

/** Props for {@link CachePyramidStack}. */
export interface CachePyramidStackProps extends StackProps {
  /** Deployment stage name, used in resource names and defaults. @default 'dev' */
  readonly stage?: string;
}

/** The reference stack: every layer of the caching pyramid, composed from this package's constructs. */
export class CachePyramidStack extends Stack {
  /** The API function (cache-aside reads over ElastiCache and PostgreSQL). */
  readonly apiFunction: CachePyramidFunction;

  constructor(scope: Construct, id: string, props: CachePyramidStackProps = {}) {
    super(scope, id, props);
    this.apiFunction = new CachePyramidFunction(this, 'ApiFunction', {
      codeDir: 'api',
      description: 'cache-pyramid API: cache-aside reads through an in-process LRU and Redis',
    });
    new CfnOutput(this, 'ApiFunctionName', { value: this.apiFunction.functionName });
  }
}
