import { Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';

/** Props for {@link CachePyramidNetwork}. */
export interface CachePyramidNetworkProps {
  /** Use this VPC instead of creating one; excludes every other VPC prop. @default - a new VPC */
  readonly existingVpc?: ec2.IVpc;
  /** Subnets of `existingVpc` for the cache, database and functions. @default - the private isolated subnets, else the private subnets with egress */
  readonly existingSubnets?: ec2.SubnetSelection;
  /** Availability zones of a new VPC (ElastiCache Multi-AZ and Aurora need at least 2). @default 2 */
  readonly maxAzs?: number;
  /** NAT gateways of a new VPC; above 0 the private subnets get egress (and a public subnet per AZ). @default 0 */
  readonly natGateways?: number;
  /** IP range of a new VPC. @default '10.40.0.0/16' */
  readonly cidr?: string;
  /** Interface endpoints (for the services functions in the VPC call without a NAT gateway). @default - Secrets Manager, SQS, EventBridge and X-Ray */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];
  /** How long the VPC flow logs are kept (Control Tower asks for at least a year). @default logs.RetentionDays.ONE_YEAR */
  readonly flowLogRetention?: logs.RetentionDays;
  /** Key that encrypts the flow log group. @default - a new key with rotation */
  readonly flowLogKey?: kms.IKey;
  /** What happens to the flow log group and its key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULT_ENDPOINTS = [
  ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  ec2.InterfaceVpcEndpointAwsService.SQS,
  ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
  // The functions trace actively: the X-Ray daemon in each execution environment sends the
  // function's segments to the X-Ray API from the function's network, so the isolated subnets
  // need an endpoint for it (com.amazonaws.<region>.xray), like any other AWS API.
  ec2.InterfaceVpcEndpointAwsService.XRAY,
];

/** Props that only describe a VPC this construct creates, rejected next to `existingVpc`. */
const NEW_VPC_PROPS = ['maxAzs', 'natGateways', 'cidr', 'interfaceEndpoints', 'flowLogRetention', 'flowLogKey'] as const;

/**
 * The network of the pyramid: a VPC whose private subnets have no route to the internet by default
 * (ElastiCache, Aurora and the functions talk to each other and, through interface endpoints, to
 * Secrets Manager, SQS, EventBridge and X-Ray), with VPC flow logs to an encrypted log group. Or an
 * existing VPC.
 *
 * No S3 gateway endpoint: nothing in the VPC reads or writes S3 (static assets are uploaded at
 * deploy time from outside, custom-resource responses are sent by the provider framework, which
 * runs outside the VPC). Add one with `vpc.addGatewayEndpoint` if your functions need S3.
 */
export class CachePyramidNetwork extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The subnets the cache, the database and the functions are placed in. */
  public readonly subnetSelection: ec2.SubnetSelection;
  /** Security group of the interface endpoints (HTTPS from the VPC); undefined for an existing VPC. */
  public readonly endpointSecurityGroup?: ec2.ISecurityGroup;
  /** The flow log group; undefined for an existing VPC. */
  public readonly flowLogGroup?: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: CachePyramidNetworkProps = {}) {
    super(scope, id);
    validate(props);

    if (props.existingVpc) {
      this.vpc = props.existingVpc;
      this.subnetSelection = props.existingSubnets ?? defaultExistingSubnets(props.existingVpc);
      return;
    }

    const natGateways = props.natGateways ?? 0;
    const privateType = natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
    const subnetConfiguration: ec2.SubnetConfiguration[] = [{ name: 'private', subnetType: privateType, cidrMask: 20 }];
    if (natGateways > 0) subnetConfiguration.unshift({ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 });

    const cidr = props.cidr ?? '10.40.0.0/16';
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs: props.maxAzs ?? 2,
      natGateways,
      subnetConfiguration,
      restrictDefaultSecurityGroup: true,
    });
    this.vpc = vpc;
    this.subnetSelection = { subnetType: privateType };
    // restrictDefaultSecurityGroup adds aws-cdk-lib's stack-wide provider (a fixed construct id).
    const restrictDefaultSg = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (restrictDefaultSg) {
      Validations.of(restrictDefaultSg).acknowledge({
        id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
        reason:
          "aws-cdk-lib's deploy-time function that strips the default security group's rules calls the EC2 API; in the isolated subnets it would need an EC2 endpoint that nothing else uses. It runs only during deployments.",
      });
    }

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    let key = props.flowLogKey;
    if (!key) {
      const created = new kms.Key(this, 'FlowLogKey', {
        description: `Encrypts the VPC flow logs of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy,
      });
      restrictKmsGrantsToAwsServices(created);
      key = created;
    }
    allowLogsToUseKey(this, key);
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: key,
      removalPolicy,
    });
    this.flowLogGroup = flowLogGroup;
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'Interface VPC endpoints: HTTPS from inside the VPC only',
      allowAllOutbound: false,
    });
    // The literal CIDR (not the VPC's CidrBlock attribute) keeps the rule checkable by cdk-nag EC23.
    endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    this.endpointSecurityGroup = endpointSecurityGroup;
    for (const service of props.interfaceEndpoints ?? DEFAULT_ENDPOINTS) {
      vpc.addInterfaceEndpoint(endpointId(service), {
        service,
        privateDnsEnabled: true,
        subnets: this.subnetSelection,
        securityGroups: [endpointSecurityGroup],
        open: false,
      });
    }
  }
}

function validate(props: CachePyramidNetworkProps): void {
  if (props.existingVpc) {
    const conflicting = NEW_VPC_PROPS.filter((name) => props[name] !== undefined);
    if (conflicting.length > 0) {
      throw new Error(`\`existingVpc\` cannot be combined with ${conflicting.map((name) => `\`${name}\``).join(', ')}: those props describe a VPC this construct creates`);
    }
  } else if (props.existingSubnets) {
    throw new Error('`existingSubnets` needs `existingVpc`: a new VPC places everything in its own private subnets');
  }
  const maxAzs = props.maxAzs;
  if (maxAzs !== undefined && !Token.isUnresolved(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 2 || maxAzs > 6)) {
    throw new Error(`\`maxAzs\` must be an integer between 2 and 6 (Multi-AZ ElastiCache and Aurora need 2), got ${maxAzs}`);
  }
  const nat = props.natGateways;
  if (nat !== undefined && !Token.isUnresolved(nat) && (!Number.isInteger(nat) || nat < 0 || nat > (maxAzs ?? 2))) {
    throw new Error(`\`natGateways\` must be an integer between 0 and \`maxAzs\` (${maxAzs ?? 2}), got ${nat}`);
  }
  if (props.cidr !== undefined && !Token.isUnresolved(props.cidr)) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(props.cidr);
    const octetsValid = match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255);
    const prefix = match ? Number(match[5]) : NaN;
    if (!octetsValid || prefix < 16 || prefix > 22) {
      throw new Error(`\`cidr\` must be an IPv4 CIDR block from /16 to /22 (room for /20 subnets per AZ), got ${JSON.stringify(props.cidr)}`);
    }
  }
  if (props.interfaceEndpoints !== undefined && props.interfaceEndpoints.length === 0) {
    throw new Error('`interfaceEndpoints` must not be empty: functions in isolated subnets need at least Secrets Manager to read their credentials');
  }
}

function defaultExistingSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

function endpointId(service: ec2.InterfaceVpcEndpointAwsService): string {
  const name = service.shortName.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return `${name.charAt(0).toUpperCase()}${name.slice(1)}Endpoint`;
}

/**
 * CloudWatch Logs encrypts a log group with a customer key only if the key policy lets the regional
 * logs service use it, scoped to log groups of this account and region.
 */
export function allowLogsToUseKey(scope: Construct, key: kms.IKey): void {
  const stack = Stack.of(scope);
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
}

/**
 * A log group name under `/aws/vendedlogs/<service>/`, unique in the account and region through the
 * construct path of `scope`. Services that deliver logs themselves (ElastiCache, API Gateway access
 * logs) add a statement to the account's one CloudWatch Logs resource policy for every log group
 * outside that prefix, until the policy's 5120-character limit fails the next deploy; under it one
 * statement covers them all. The name stays the same across every change of the stage's settings,
 * so the group is never replaced by one.
 */
export function vendedLogGroupName(scope: Construct, service: string, suffix: string): string {
  return `/aws/vendedlogs/${service}/${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}/${suffix}`;
}
