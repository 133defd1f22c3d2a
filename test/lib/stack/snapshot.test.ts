import { Template } from 'aws-cdk-lib/assertions';
import { addCachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { loadStageConfig } from '../../../lib/stages';
import { normalizeTemplate } from '../../../lib/testing/snapshot';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';

/**
 * The whole reference app per stage, as `cdk synth` builds it from cdk.json, with asset hashes and
 * other churn masked by the helper users import. A change here is a change of what deploys:
 * review the diff, then update with `npx jest test/lib/stack/snapshot.test.ts -u`.
 */
describe.each(['dev', 'prod'])('%s stage snapshot', (stageName) => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  it('matches the recorded templates of every stack', () => {
    const app = testApp({ stage: stageName, ...ALARMS_ACKNOWLEDGED });
    const { pyramid, edgeSecurity, edgeMonitoring } = addCachePyramidStacks(app, loadStageConfig(app));
    for (const stack of [edgeSecurity, pyramid, edgeMonitoring].filter((s) => s !== undefined)) {
      expect(normalizeTemplate(Template.fromStack(stack))).toMatchSnapshot(stack.stackName);
    }
  });
});
