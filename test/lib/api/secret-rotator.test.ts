import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SecretRotator, SecretRotatorProps } from '../../../lib/api/secret-rotator';
import { testApp, testStack, unacknowledgedFindings } from '../../support/cdk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CfnJson = Record<string, any>;

function build(props: Partial<SecretRotatorProps> = {}, stack: Stack = testStack()) {
  const originSecret = new secretsmanager.Secret(stack, 'OriginVerifySecret', { generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'current' } });
  const tokenSecret = new secretsmanager.Secret(stack, 'AuthTokenSecret', { generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'current' } });
  const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('api.example.net') } });
  const rotator = new SecretRotator(stack, 'Rotator', {
    originVerify: { secret: originSecret, distribution },
    cacheAuth: { secret: tokenSecret, replicationGroupId: 'cache-pyramid-dev' },
    ...props,
  });
  return { stack, rotator };
}

function fixture(props: Partial<SecretRotatorProps> = {}) {
  const built = build(props);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Every statement of the rotator function's role policies. */
function statements(template: Template): CfnJson[] {
  return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('RotatorFunctionServiceRole') }] } })).flatMap(
    (policy) => (policy as CfnJson).Properties.PolicyDocument.Statement as CfnJson[],
  );
}

function actionsOf(statement: CfnJson): string[] {
  return [statement.Action].flat();
}

describe('SecretRotator', () => {
  test('runs the rotator every 5 minutes by default, with a 30-day period and a 15-minute grace before SET', () => {
    const { template } = fixture();
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ROTATION_PERIOD_SECONDS: String(30 * 86_400),
          CACHE_CLIENT_GRACE_SECONDS: '900',
          REPLICATION_GROUP_ID: 'cache-pyramid-dev',
          DISTRIBUTION_ID: { Ref: Match.stringLikeRegexp('Distribution') },
          ORIGIN_VERIFY_SECRET_ARN: { Ref: Match.stringLikeRegexp('OriginVerifySecret') },
          CACHE_AUTH_SECRET_ARN: { Ref: Match.stringLikeRegexp('AuthTokenSecret') },
        }),
      },
    });
  });

  test('takes the schedule, period and grace it is given', () => {
    const { template } = fixture({ checkInterval: Duration.minutes(10), rotationPeriod: Duration.days(7), cacheClientGrace: Duration.hours(1) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ROTATION_PERIOD_SECONDS: String(7 * 86_400), CACHE_CLIENT_GRACE_SECONDS: '3600' }) },
    });
  });

  test('may update only its distribution, its replication group and its two secrets', () => {
    const { template } = fixture();
    const all = statements(template).filter((s) => !actionsOf(s).some((a) => a.startsWith('xray:')));
    const cloudFront = all.filter((s) => actionsOf(s).some((a) => a.startsWith('cloudfront:')));
    expect(cloudFront).toHaveLength(1);
    expect(actionsOf(cloudFront[0]).sort()).toEqual(['cloudfront:GetDistribution', 'cloudfront:UpdateDistribution']);
    expect(JSON.stringify(cloudFront[0].Resource)).toMatch(/distribution\/.*Distribution/);

    const elastiCache = all.filter((s) => actionsOf(s).some((a) => a.startsWith('elasticache:')));
    expect(elastiCache).toHaveLength(1);
    expect(actionsOf(elastiCache[0]).sort()).toEqual(['elasticache:DescribeReplicationGroups', 'elasticache:ModifyReplicationGroup']);
    expect(JSON.stringify(elastiCache[0].Resource)).toMatch(/:elasticache:.*:replicationgroup:cache-pyramid-dev"/);

    const puts = all.filter((s) => actionsOf(s).includes('secretsmanager:PutSecretValue'));
    expect(puts.flatMap((s) => [s.Resource].flat()).map((r: CfnJson) => r.Ref).sort()).toEqual([expect.stringMatching(/^AuthTokenSecret/), expect.stringMatching(/^OriginVerifySecret/)]);

    // Nothing else: no wildcard resource but the X-Ray one, no other service.
    for (const statement of all) {
      expect(statement.Resource).not.toEqual('*');
      for (const action of actionsOf(statement)) expect(action).toMatch(/^(cloudfront|elasticache|secretsmanager):/);
    }
  });

  test('wires only the rotation it is given', () => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'OriginVerifySecret');
    const distribution = new cloudfront.Distribution(stack, 'Distribution', { defaultBehavior: { origin: new origins.HttpOrigin('api.example.net') } });
    new SecretRotator(stack, 'Rotator', { originVerify: { secret, distribution } });
    const template = Template.fromStack(stack);
    const variables = Object.values(template.findResources('AWS::Lambda::Function'))[0].Properties.Environment.Variables;
    expect(Object.keys(variables)).not.toContain('CACHE_AUTH_SECRET_ARN');
    expect(statements(template).flatMap(actionsOf).filter((a) => a.startsWith('elasticache:'))).toEqual([]);
  });

  test('leaves no cdk-nag or Control Tower finding on its own resources unacknowledged', () => {
    const app = testApp();
    build({}, testStack({}, app));
    expect(unacknowledgedFindings(app).filter((f) => f.constructPaths.some((p) => p.startsWith('Test/Rotator/')))).toEqual([]);
  });

  describe('invalid props', () => {
    const cases: Array<[string, Partial<SecretRotatorProps>, string]> = [
      ['neither secret', { originVerify: undefined, cacheAuth: undefined }, 'SecretRotator: give `originVerify`, `cacheAuth` or both, got neither'],
      ['a period under a day', { rotationPeriod: Duration.hours(12) }, 'SecretRotator: `rotationPeriod` must be between 1 days and 365 days, got 0.5 days'],
      ['a period over a year', { rotationPeriod: Duration.days(400) }, 'SecretRotator: `rotationPeriod` must be between 1 days and 365 days, got 400 days'],
      ['a check interval over an hour', { checkInterval: Duration.minutes(90) }, 'SecretRotator: `checkInterval` must be between 1 minutes and 60 minutes, got 90 minutes'],
      ['a check interval in seconds', { checkInterval: Duration.seconds(150) }, 'SecretRotator: `checkInterval` must be a whole number of minutes (an EventBridge rate), got 150 seconds'],
      ['a grace under a minute', { cacheClientGrace: Duration.seconds(30) }, 'SecretRotator: `cacheClientGrace` must be between 1 minutes and 1440 minutes, got 0.5 minutes'],
    ];
    test.each(cases)('%s is refused', (_what, props, message) => {
      expect(() => fixture(props)).toThrow(message);
    });
  });
});
