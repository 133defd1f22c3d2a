import { Template } from 'aws-cdk-lib/assertions';
import { addCachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { StackOutput } from '../../../lib/ops/stack-outputs';
import { loadStageConfig } from '../../../lib/stages';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

describe('the reference stack publishes every output the CLI reads', () => {
  test.each(['dev', 'prod'])('%s', (stageName) => {
    const app = testApp({ stage: stageName, ...ALARMS_ACKNOWLEDGED });
    const { pyramid } = addCachePyramidStacks(app, loadStageConfig(app));
    const outputs = Template.fromStack(pyramid).findOutputs('*');
    const cacheOutput = pyramid.cache.memberClusterIds.length > 0 ? StackOutput.REPLICATION_GROUP_ID : StackOutput.SERVERLESS_CACHE_NAME;
    for (const name of [cacheOutput, StackOutput.EVENT_BUS_NAME, StackOutput.DISTRIBUTION_ID, StackOutput.ALARM_PREFIX]) {
      expect(outputs).toHaveProperty(name);
    }
    expect(outputs[StackOutput.ALARM_PREFIX].Value).toBe(pyramid.stackName);
    expect(outputs[StackOutput.EVENT_BUS_NAME].Value).toEqual(pyramid.resolve(pyramid.invalidation.bus.eventBusName));
  });
});
