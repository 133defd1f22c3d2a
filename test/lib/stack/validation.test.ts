import * as fs from 'node:fs';
import * as path from 'node:path';
import { addCachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { parseStageConfig, STAGES_CONTEXT_KEY } from '../../../lib/stages';
import { ALARMS_ACKNOWLEDGED, bundlingApp, unacknowledgedFindings } from '../../support/cdk';

/** CloudFormation's limits for a template uploaded through S3 (as the CDK CLI does). */
const MAX_TEMPLATE_BYTES = 1_000_000;
const MAX_RESOURCES = 500;

/**
 * The one test that synthesises the reference app as `cdk synth` does: function code bundled,
 * cdk-nag AwsSolutions and the cfn-guard Control Tower rules run. Both stages share one App, so
 * each function is bundled once (identical bundles are cached) and the plugins run once.
 */
describe('reference app validation', () => {
  const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
  beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
  afterAll(() => {
    if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
  });

  it('leaves no cdk-nag or Control Tower finding in dev or prod, within CloudFormation limits', () => {
    const app = bundlingApp();
    const stages = app.node.tryGetContext(STAGES_CONTEXT_KEY) as Record<string, unknown>;
    for (const name of ['dev', 'prod']) addCachePyramidStacks(app, parseStageConfig(name, stages[name], ALARMS_ACKNOWLEDGED));

    expect(unacknowledgedFindings(app)).toEqual([]);

    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      'CachePyramid-dev',
      'CachePyramid-dev-EdgeMonitoring',
      'CachePyramid-prod',
      'CachePyramid-prod-EdgeMonitoring',
      'CachePyramid-prod-EdgeSecurity',
    ]);
    const overLimit = assembly.stacks
      .map((stack) => ({
        stack: stack.stackName,
        bytes: fs.statSync(stack.templateFullPath).size,
        resources: Object.keys(stack.template.Resources ?? {}).length,
      }))
      .filter((t) => t.bytes >= MAX_TEMPLATE_BYTES || t.resources >= MAX_RESOURCES);
    expect(overLimit).toEqual([]);

    // The functions were really bundled: the API, the flusher and the migration runner.
    const bundles = fs.readdirSync(assembly.directory).filter((entry) => fs.existsSync(path.join(assembly.directory, entry, 'index.js')));
    expect(bundles.length).toBeGreaterThanOrEqual(3);
  }, 600_000);
});
