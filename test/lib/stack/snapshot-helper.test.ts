import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnOutput, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { normalizeTemplate } from '../../../lib/testing/snapshot';
import { testApp } from '../../support/cdk';

const codeDirs: string[] = [];
afterAll(() => codeDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A stack with a function whose code (an asset) says `greeting`, published as a version. */
function stackWithCode(greeting: string, props: { account?: string } = {}): Stack {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-helper-'));
  codeDirs.push(dir);
  fs.writeFileSync(path.join(dir, 'index.js'), `exports.handler = async () => ${JSON.stringify(greeting)};\n`);
  const stack = new Stack(testApp(), 'Snap', { env: { account: props.account ?? '111111111111', region: 'eu-west-1' } });
  const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromAsset(dir) });
  new CfnOutput(stack, 'Version', { value: fn.currentVersion.functionArn });
  new CfnOutput(stack, 'Role', { value: fn.role!.roleArn });
  return stack;
}

describe('normalizeTemplate', () => {
  it('gives equal templates for stacks that differ only in asset content, where the raw templates differ', () => {
    const hello = Template.fromStack(stackWithCode('hello')).toJSON();
    const bye = Template.fromStack(stackWithCode('bye')).toJSON();
    expect(bye).not.toEqual(hello);
    expect(normalizeTemplate(bye)).toEqual(normalizeTemplate(hello));
  });

  it('masks the asset key and the hash suffix of current-version logical ids in keys and references', () => {
    const normalized = normalizeTemplate(Template.fromStack(stackWithCode('hello')));
    const resources = normalized.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const versionId = Object.keys(resources).find((id) => resources[id].Type === 'AWS::Lambda::Version');
    expect(versionId).toMatch(/^FnCurrentVersion[0-9A-F]{8}\[HASH\]$/);
    expect(JSON.stringify((normalized.Outputs as Record<string, unknown>).Version)).toContain(versionId);
    const fn = Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function');
    expect((fn!.Properties.Code as { S3Key: string }).S3Key).toBe('[HASH].zip');
  });

  it('drops the bootstrap version parameter and rule and the CDK metadata, and keeps everything else', () => {
    const stack = stackWithCode('hello');
    const tier = new CfnParameter(stack, 'Tier', { default: 'gold' });
    new CfnOutput(stack, 'TierName', { value: tier.valueAsString });
    const raw = Template.fromStack(stack).toJSON();
    expect(raw.Parameters).toHaveProperty('BootstrapVersion');
    expect(raw.Rules).toHaveProperty('CheckBootstrapVersion');
    const normalized = normalizeTemplate(raw);
    expect(normalized.Parameters).toEqual({ Tier: { Type: 'String', Default: 'gold' } });
    expect(normalized).not.toHaveProperty('Rules');
    expect(Object.keys(normalized.Resources as object)).not.toContain('CDKMetadata');
    expect(Object.keys(normalizeTemplate(raw, { keepCdkMetadata: true }).Resources as object).length).toBe(Object.keys(raw.Resources).length);
    expect(raw.Parameters).toHaveProperty('BootstrapVersion');
  });

  it('masks account ids only when asked', () => {
    const first = Template.fromStack(stackWithCode('hello', { account: '111111111111' })).toJSON();
    const second = Template.fromStack(stackWithCode('hello', { account: '222222222222' })).toJSON();
    expect(normalizeTemplate(first)).not.toEqual(normalizeTemplate(second));
    expect(normalizeTemplate(first, { maskAccountIds: true })).toEqual(normalizeTemplate(second, { maskAccountIds: true }));
    expect(JSON.stringify(normalizeTemplate(first, { maskAccountIds: true }))).toContain('[ACCOUNT]');
  });

  it('leaves strings that are not content hashes alone', () => {
    const sixtyThree = 'a'.repeat(63);
    expect(normalizeTemplate({ Resources: { R: { Type: 'X', Properties: { Short: sixtyThree, Port: 6380, Id: 'CurrentVersion' } } } })).toEqual({
      Resources: { R: { Type: 'X', Properties: { Short: sixtyThree, Port: 6380, Id: 'CurrentVersion' } } },
    });
  });
});
