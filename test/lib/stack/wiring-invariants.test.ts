import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { API_AWS_CALLS } from '../../../lambda/api/aws-calls';
import { CDN_PURGER_AWS_CALLS } from '../../../lambda/cdn-purger/aws-calls';
import { FLUSHER_AWS_CALLS } from '../../../lambda/flusher/aws-calls';
import { MIGRATE_AWS_CALLS } from '../../../lambda/migrate/aws-calls';
import { REDIS_PURGER_AWS_CALLS } from '../../../lambda/redis-purger/aws-calls';
import { SECRET_ROTATOR_AWS_CALLS } from '../../../lambda/secret-rotator/aws-calls';
import type { AwsApiCall } from '../../../lambda/runtime/aws/aws-calls';
import { TOKEN_SCOPES_AWS_CALLS } from '../../../lambda/token-scopes/aws-calls';
import { CachePyramidFunction } from '../../../lib/api/api-function';
import { addCachePyramidStacks, CachePyramidStacks } from '../../../lib/cache-pyramid-app';
import { loadStageConfig } from '../../../lib/stages';
import { ALARMS_ACKNOWLEDGED, testApp } from '../../support/cdk';
import {
  alarmActionViolations,
  CfnJson,
  DeclaredFunction,
  functionCallViolations,
  producerViolations,
  securityGroupEgressViolations,
  TemplateUnderTest,
} from '../../support/wiring';

/** Every function of the reference stack with the calls declared next to its code. */
function declaredFunctions(stacks: CachePyramidStacks): Array<{ fn: CachePyramidFunction; calls: readonly AwsApiCall[] }> {
  const { pyramid } = stacks;
  return [
    { fn: pyramid.api.apiFunction, calls: API_AWS_CALLS },
    { fn: pyramid.api.flusherFunction, calls: FLUSHER_AWS_CALLS },
    { fn: pyramid.invalidation.redisPurger, calls: REDIS_PURGER_AWS_CALLS },
    { fn: pyramid.invalidation.cdnPurger, calls: CDN_PURGER_AWS_CALLS },
    { fn: pyramid.secretRotator.rotatorFunction, calls: SECRET_ROTATOR_AWS_CALLS },
    ...(pyramid.database.migrationFunction === undefined ? [] : [{ fn: pyramid.database.migrationFunction, calls: MIGRATE_AWS_CALLS }]),
    ...(pyramid.userPool === undefined ? [] : [{ fn: pyramid.userPool.scopeTrigger, calls: TOKEN_SCOPES_AWS_CALLS }]),
  ];
}

interface Synthesised {
  readonly stacks: CachePyramidStacks;
  readonly templates: TemplateUnderTest[];
  readonly main: TemplateUnderTest;
  readonly functions: DeclaredFunction[];
}

function synthesise(stageName: string): Synthesised {
  const stacks = addCachePyramidStacks(testApp(), loadStageConfig(testApp({ stage: stageName, ...ALARMS_ACKNOWLEDGED })));
  const all: Stack[] = [stacks.pyramid, stacks.edgeMonitoring, ...(stacks.edgeSecurity === undefined ? [] : [stacks.edgeSecurity])];
  const templates = all.map((stack) => ({ name: stack.stackName, region: stack.region, template: Template.fromStack(stack).toJSON() }));
  const functions = declaredFunctions(stacks).map(({ fn, calls }) => ({ logicalId: stacks.pyramid.getLogicalId(fn.node.defaultChild as never), calls }));
  return { stacks, templates, main: templates[0], functions };
}

/** A deep copy of the main template to break on purpose. */
function broken(s: Synthesised, change: (resources: Record<string, CfnJson>) => void): TemplateUnderTest {
  const template = structuredClone(s.main.template);
  change(template.Resources);
  return { ...s.main, template };
}

function findResource(resources: Record<string, CfnJson>, type: string, predicate: (r: CfnJson, id: string) => boolean = () => true): [string, CfnJson] {
  const found = Object.entries(resources).find(([id, r]) => r.Type === type && predicate(r, id));
  if (found === undefined) throw new Error(`no ${type} to break`);
  return found;
}

const savedAccount = process.env.CDK_DEFAULT_ACCOUNT;
beforeAll(() => delete process.env.CDK_DEFAULT_ACCOUNT);
afterAll(() => {
  if (savedAccount !== undefined) process.env.CDK_DEFAULT_ACCOUNT = savedAccount;
});

describe.each(['dev', 'prod'])('wiring invariants of the %s stage', (stageName) => {
  const s = synthesise(stageName);

  it('declares the AWS calls of every function of the pyramid', () => {
    const all = s.stacks.pyramid.node.findAll().filter((c): c is CachePyramidFunction => c instanceof CachePyramidFunction);
    const declared = new Set(declaredFunctions(s.stacks).map(({ fn }) => fn));
    expect(all.filter((fn) => !declared.has(fn)).map((fn) => fn.node.path)).toEqual([]);
  });

  it('every alarm action is a topic whose topic policy and key policy admit CloudWatch for that alarm', () => {
    expect(s.templates.flatMap(alarmActionViolations)).toEqual([]);
    // Both monitoring stacks have alarms, so the check had something to walk.
    const alarmCount = (t: TemplateUnderTest) => Object.values(t.template.Resources as Record<string, CfnJson>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length;
    expect([s.stacks.pyramid.stackName, s.stacks.edgeMonitoring.stackName].map((name) => alarmCount(s.templates.find((t) => t.name === name)!) > 0)).toEqual([true, true]);
  });

  it('every AWS call of a function is allowed on its resource and, in the VPC, reaches a private-DNS endpoint over HTTPS', () => {
    expect(functionCallViolations(s.main, s.functions)).toEqual([]);
  });

  it('every queue, bus and topic policy admits its producers', () => {
    expect(s.templates.flatMap(producerViolations)).toEqual([]);
  });

  it('every security group declares its egress inline', () => {
    expect(s.templates.flatMap(securityGroupEgressViolations)).toEqual([]);
  });
});

describe('each invariant fails on a template broken on purpose', () => {
  const s = synthesise('dev');
  const alarmTopicId = s.stacks.pyramid.getLogicalId(s.stacks.pyramid.monitoring.alarmTopic!.topic.node.defaultChild as never);
  const apiId = s.functions[0].logicalId;
  const apiRoleId = [...JSON.stringify(s.main.template.Resources[apiId].Properties.Role).matchAll(/"([A-Za-z0-9]+Role[A-Za-z0-9]*)"/g)][0][1];

  it('a topic policy without the CloudWatch allow (SNS\'s default policy replaced by the SSL-only Deny)', () => {
    const t = broken(s, (resources) => {
      const [, policy] = findResource(resources, 'AWS::SNS::TopicPolicy', (p) => JSON.stringify(p.Properties.Topics).includes(alarmTopicId));
      policy.Properties.PolicyDocument.Statement = policy.Properties.PolicyDocument.Statement.filter((st: CfnJson) => st.Effect !== 'Allow');
    });
    expect(alarmActionViolations(t)).toEqual(expect.arrayContaining([expect.stringMatching(`the policy of topic ${alarmTopicId} does not let CloudWatch publish`)]));
  });

  it('a topic policy whose SourceArn names another alarm prefix', () => {
    const t = broken(s, (resources) => {
      const [, policy] = findResource(resources, 'AWS::SNS::TopicPolicy', (p) => JSON.stringify(p.Properties.Topics).includes(alarmTopicId));
      const allow = policy.Properties.PolicyDocument.Statement.find((st: CfnJson) => st.Effect === 'Allow');
      allow.Condition.ArnLike['aws:SourceArn'] = 'arn:aws:cloudwatch:eu-west-1:111111111111:alarm:Other-*';
    });
    expect(alarmActionViolations(t).length).toBeGreaterThan(0);
  });

  it('a topic key whose policy does not let CloudWatch use it', () => {
    const t = broken(s, (resources) => {
      const keyId = resources[alarmTopicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
      const policy = resources[keyId].Properties.KeyPolicy;
      policy.Statement = policy.Statement.filter((st: CfnJson) => !JSON.stringify(st.Principal ?? {}).includes('cloudwatch'));
    });
    expect(alarmActionViolations(t)).toEqual(expect.arrayContaining([expect.stringMatching(/does not allow CloudWatch kms:Decrypt/)]));
  });

  it('an alarm that notifies something that is not a topic of the stack', () => {
    const t = broken(s, (resources) => {
      const [, alarm] = findResource(resources, 'AWS::CloudWatch::Alarm');
      alarm.Properties.AlarmActions = ['arn:aws:sns:eu-west-1:222222222222:someone-else'];
    });
    expect(alarmActionViolations(t)).toEqual(expect.arrayContaining([expect.stringMatching(/not a topic of this template/)]));
  });

  it('a role without the sqs:SendMessage the API calls', () => {
    const t = broken(s, (resources) => {
      for (const [, policy] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(apiRoleId))) {
        for (const st of policy.Properties.PolicyDocument.Statement) {
          const actions = ([] as string[]).concat(st.Action);
          st.Action = actions.filter((a) => a !== 'sqs:SendMessage');
        }
      }
    });
    expect(functionCallViolations(t, s.functions)).toEqual(expect.arrayContaining([expect.stringMatching(`the role of ${apiId} does not allow sqs:SendMessage on the resource of WRITE_BEHIND_QUEUE_URL`)]));
  });

  it('an allow on another resource than the one the function is configured with', () => {
    const t = broken(s, (resources) => {
      resources[apiId].Properties.Environment.Variables.WRITE_BEHIND_QUEUE_URL = { Ref: Object.keys(resources).find((id) => /WriteBehindDlq/.test(id) && resources[id].Type === 'AWS::SQS::Queue') };
    });
    expect(functionCallViolations(t, s.functions)).toEqual(expect.arrayContaining([expect.stringMatching(`the role of ${apiId} does not allow sqs:SendMessage`)]));
  });

  it('a VPC without the SQS endpoint', () => {
    const t = broken(s, (resources) => {
      const [id] = findResource(resources, 'AWS::EC2::VPCEndpoint', (e) => e.Properties.ServiceName === 'com.amazonaws.eu-west-1.sqs');
      delete resources[id];
    });
    expect(functionCallViolations(t, s.functions)).toEqual(expect.arrayContaining([expect.stringMatching(/has no com\.amazonaws\.eu-west-1\.sqs interface endpoint/)]));
  });

  it('an endpoint without private DNS', () => {
    const t = broken(s, (resources) => {
      findResource(resources, 'AWS::EC2::VPCEndpoint', (e) => e.Properties.ServiceName === 'com.amazonaws.eu-west-1.secretsmanager')[1].Properties.PrivateDnsEnabled = false;
    });
    expect(functionCallViolations(t, s.functions)).toEqual(expect.arrayContaining([expect.stringMatching(/secretsmanager endpoint .* has no private DNS/)]));
  });

  it('a function security group without HTTPS egress to the endpoints', () => {
    const t = broken(s, (resources) => {
      const sgId = resources[apiId].Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
      resources[sgId].Properties.SecurityGroupEgress = [{ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86, Description: 'Disallow all traffic' }];
    });
    expect(functionCallViolations(t, s.functions)).toEqual(expect.arrayContaining([expect.stringMatching(`no HTTPS path from ${apiId}'s security groups`)]));
  });

  it('a purge queue whose policy does not admit the EventBridge rule that targets it', () => {
    const t = broken(s, (resources) => {
      for (const [, policy] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::QueuePolicy')) {
        policy.Properties.PolicyDocument.Statement = policy.Properties.PolicyDocument.Statement.filter((st: CfnJson) => !JSON.stringify(st.Principal ?? {}).includes('events.amazonaws.com'));
      }
    });
    expect(producerViolations(t)).toEqual(expect.arrayContaining([expect.stringMatching(/does not let rule .* \(EventBridge\) send to it/)]));
  });

  it('a queue policy that denies a producer its role allows', () => {
    const t = broken(s, (resources) => {
      const [, policy] = findResource(resources, 'AWS::SQS::QueuePolicy', (p) => /WriteBehindQueue/.test(JSON.stringify(p.Properties.Queues)));
      policy.Properties.PolicyDocument.Statement.push({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:SendMessage', Resource: '*' });
    });
    expect(producerViolations(t)).toEqual(expect.arrayContaining([expect.stringMatching(`denies sqs:SendMessage to ${apiRoleId}`)]));
  });

  it('a security group without inline egress', () => {
    const t = broken(s, (resources) => {
      delete findResource(resources, 'AWS::EC2::SecurityGroup')[1].Properties.SecurityGroupEgress;
    });
    expect(securityGroupEgressViolations(t)).toEqual([expect.stringMatching(/declares no inline egress, so EC2 keeps its default allow-all egress rule/)]);
  });
});
