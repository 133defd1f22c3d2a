import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CachePyramidNetwork } from '../../../lib/network/cache-pyramid-network';

function newStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

describe('CachePyramidNetwork', () => {
  describe('a new VPC', () => {
    test('has only private isolated subnets in 2 AZs and no NAT gateway or internet gateway by default', () => {
      const stack = newStack();
      const network = new CachePyramidNetwork(stack, 'Network');
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::EC2::Subnet', 2);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      expect(network.vpc.isolatedSubnets).toHaveLength(2);
      expect(network.subnetSelection).toEqual({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    });

    test('spreads over maxAzs zones', () => {
      const stack = newStack();
      new CachePyramidNetwork(stack, 'Network', { maxAzs: 3 });
      Template.fromStack(stack).resourceCountIs('AWS::EC2::Subnet', 3);
    });

    test('gets NAT gateways, public subnets and egress-capable private subnets only when asked', () => {
      const stack = newStack();
      const network = new CachePyramidNetwork(stack, 'Network', { natGateways: 1 });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::EC2::NatGateway', 1);
      template.resourceCountIs('AWS::EC2::Subnet', 4);
      expect(network.subnetSelection).toEqual({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    });

    test('has interface endpoints for Secrets Manager, SQS, EventBridge and X-Ray (the traced functions) with private DNS, and no S3 endpoint', () => {
      const stack = newStack();
      new CachePyramidNetwork(stack, 'Network');
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 4);
      for (const service of ['secretsmanager', 'sqs', 'events', 'xray']) {
        template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
          ServiceName: `com.amazonaws.eu-west-1.${service}`,
          VpcEndpointType: 'Interface',
          PrivateDnsEnabled: true,
        });
      }
      template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' }, 0);
    });

    test('lets only the VPC CIDR reach the endpoints, on 443, and gives them no egress', () => {
      const stack = newStack();
      new CachePyramidNetwork(stack, 'Network');
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'Interface VPC endpoints: HTTPS from inside the VPC only',
        SecurityGroupIngress: [
          { CidrIp: '10.40.0.0/16', Description: 'HTTPS from the VPC', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' },
        ],
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
      });
      const groups = template.findResources('AWS::EC2::SecurityGroup');
      expect(JSON.stringify(groups)).not.toContain('0.0.0.0/0');
    });

    test('sends all flow logs to a KMS-encrypted log group with retention', () => {
      const stack = newStack();
      new CachePyramidNetwork(stack, 'Network', { flowLogRetention: logs.RetentionDays.THREE_MONTHS });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 90,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFlowLogKey'), 'Arn'] },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
              Condition: {
                ArnLike: {
                  'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:123456789012:log-group:*']] },
                },
              },
            }),
          ]),
        },
      });
    });

    test('retains the flow logs by default and destroys them when told', () => {
      const retained = newStack();
      new CachePyramidNetwork(retained, 'Network');
      Template.fromStack(retained).hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
      const destroyed = newStack();
      new CachePyramidNetwork(destroyed, 'Network', { removalPolicy: RemovalPolicy.DESTROY });
      Template.fromStack(destroyed).hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
    });
  });

  describe('an existing VPC', () => {
    test('is used as is, with its isolated subnets, and nothing is created', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Existing', { natGateways: 0, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      const network = new CachePyramidNetwork(stack, 'Network', { existingVpc: vpc });
      expect(network.vpc).toBe(vpc);
      expect(network.subnetSelection).toEqual({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
      expect(network.flowLogGroup).toBeUndefined();
      Template.fromStack(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    });

    test('uses the subnets it is given', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Existing', { natGateways: 1 });
      const network = new CachePyramidNetwork(stack, 'Network', { existingVpc: vpc, existingSubnets: { subnetGroupName: 'Private' } });
      expect(network.subnetSelection).toEqual({ subnetGroupName: 'Private' });
    });
  });

  describe('validation', () => {
    test('rejects existingVpc together with props of a new VPC', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Existing');
      expect(() => new CachePyramidNetwork(stack, 'Network', { existingVpc: vpc, maxAzs: 3, natGateways: 1 })).toThrow(
        /`existingVpc` cannot be combined with `maxAzs`, `natGateways`/,
      );
    });

    test('rejects existingSubnets without existingVpc', () => {
      expect(() => new CachePyramidNetwork(newStack(), 'Network', { existingSubnets: { subnetGroupName: 'x' } })).toThrow(/`existingSubnets` needs `existingVpc`/);
    });

    test.each([1, 7, 2.5])('rejects maxAzs %p', (maxAzs) => {
      expect(() => new CachePyramidNetwork(newStack(), 'Network', { maxAzs })).toThrow(`\`maxAzs\` must be an integer between 2 and 6 (Multi-AZ ElastiCache and Aurora need 2), got ${maxAzs}`);
    });

    test('rejects more NAT gateways than AZs', () => {
      expect(() => new CachePyramidNetwork(newStack(), 'Network', { natGateways: 3 })).toThrow('`natGateways` must be an integer between 0 and `maxAzs` (2), got 3');
    });

    test.each(['10.0.0.0/8', '10.0.0.0/24', '300.1.0.0/16', 'ten'])('rejects cidr %p', (cidr) => {
      expect(() => new CachePyramidNetwork(newStack(), 'Network', { cidr })).toThrow(/`cidr` must be an IPv4 CIDR block from \/16 to \/22/);
    });

    test('rejects an empty endpoint list', () => {
      expect(() => new CachePyramidNetwork(newStack(), 'Network', { interfaceEndpoints: [] })).toThrow(/`interfaceEndpoints` must not be empty/);
    });
  });
});
