import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CachePyramidFunction } from '../api/api-function';
import { PACKAGE_ROOT } from '../package-paths';
import { allowLogsToUseKey } from '../network/cache-pyramid-network';
import { restrictKmsGrantsToAwsServices } from '../validation/kms-grants-for-aws-services-only';
import { checkDurationType, checkVpc } from '../validation/check-props';

/** Where `npm run db:setup` and the tests take their migrations from. */
export const DEFAULT_MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'db', 'migrations');

/** The Node.js runtimes trust the Amazon RDS certificate authorities only from this bundle. */
const RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** How protective the defaults are. */
export enum DatabaseStage {
  /** Deletion protection on, a final snapshot on stack deletion, one reader in another AZ. */
  PROD = 'prod',
  /** Deletion protection off and the cluster destroyed with the stack, writer only. */
  DEV = 'dev',
}

/** A PostgreSQL database this construct does not create (migrations are still applied to it). */
export interface ExistingDatabase {
  /** Host name of the writer endpoint. */
  readonly endpointAddress: string;
  /** Port. @default 5432 */
  readonly port?: number;
  /** Database name. */
  readonly databaseName: string;
  /** Secret holding `{"username","password"}` of a user that may run DDL. */
  readonly secret: secretsmanager.ISecret;
  /** Security group of the database, which granted functions get ingress through. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Aurora cluster identifier, for the metric helpers. @default - metric helpers throw */
  readonly clusterIdentifier?: string;
}

/** Props for {@link OriginDatabase}. */
export interface OriginDatabaseProps {
  /** The VPC of the database and of the migration function. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the database and the migration function. @default - the VPC's private isolated subnets, else its private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Use this database instead of creating an Aurora cluster; excludes every cluster prop. @default - a new Aurora PostgreSQL Serverless v2 cluster */
  readonly existingDatabase?: ExistingDatabase;
  /** Stage whose defaults apply (deletion protection, removal policy, reader). @default DatabaseStage.PROD */
  readonly stage?: DatabaseStage;
  /** Name of the database created in the cluster. @default 'cache_pyramid' */
  readonly databaseName?: string;
  /** Aurora PostgreSQL version. @default rds.AuroraPostgresEngineVersion.VER_17_5 */
  readonly engineVersion?: rds.AuroraPostgresEngineVersion;
  /** Lowest Aurora capacity units (0-256 in steps of 0.5; 0 pauses an idle cluster, with a cold start of ~15 s). @default 0.5 */
  readonly minCapacityAcu?: number;
  /** Highest Aurora capacity units (1-256 in steps of 0.5, not below the minimum). @default 4 */
  readonly maxCapacityAcu?: number;
  /** Serverless v2 readers, each in the writer's scaling tier. @default - 1 for PROD, 0 for DEV */
  readonly readers?: number;
  /** TCP port. @default 5432 */
  readonly port?: number;
  /** How long automated backups are kept (1-35 days). @default Duration.days(7) */
  readonly backupRetention?: Duration;
  /** Key for storage, the credentials secret and Performance Insights. @default - a new key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Rotate the master password in Secrets Manager this often (single-user rotation). @default - no rotation */
  readonly rotateCredentialsAfter?: Duration;
  /** How long the exported postgresql log and the migration logs are kept (Control Tower asks for at least a year). @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Deletion protection. @default - true for PROD, false for DEV */
  readonly deletionProtection?: boolean;
  /** What deleting the stack does to the cluster. @default - SNAPSHOT for PROD, DESTROY for DEV */
  readonly removalPolicy?: RemovalPolicy;
  /** Apply `migrationsDirectory` at every deployment that changes it. @default true */
  readonly runMigrations?: boolean;
  /** Folder of `NNN_name.sql` migrations. @default - this package's db/migrations */
  readonly migrationsDirectory?: string;
}

const CLUSTER_PROPS = [
  'stage', 'databaseName', 'engineVersion', 'minCapacityAcu', 'maxCapacityAcu', 'readers', 'port', 'backupRetention',
  'encryptionKey', 'rotateCredentialsAfter', 'logRetention', 'deletionProtection', 'removalPolicy',
] as const;

/**
 * The origin of truth: Aurora PostgreSQL Serverless v2, encrypted with a KMS key, IAM
 * authentication on, TLS forced, generated credentials in Secrets Manager, backups, deletion
 * protection except in a dev stage, in private subnets behind its own security group. The SQL
 * migrations of `db/migrations` (the same files the local setup uses) are applied at deploy time by
 * a custom resource whose properties carry a hash of the folder, so a new or changed file re-runs
 * it. Or an existing database.
 */
export class OriginDatabase extends Construct implements ec2.IConnectable {
  /** The Aurora cluster; undefined for an existing database. */
  public readonly cluster?: rds.DatabaseCluster;
  /** Secret with the database user's `username` and `password` (and `host`, `port`, `dbname`). */
  public readonly secret: secretsmanager.ISecret;
  /** Writer endpoint host. */
  public readonly endpointAddress: string;
  /** Port. */
  public readonly port: number;
  /** Database name. */
  public readonly databaseName: string;
  /** Security group of the database: no ingress until `grantConnect`. */
  public readonly securityGroup: ec2.ISecurityGroup;
  public readonly connections: ec2.Connections;
  /** Key of storage, secret and Performance Insights; undefined for an existing database. */
  public readonly encryptionKey?: kms.IKey;
  /** `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_SECRET_ARN` and the RDS CA bundle for a function that uses the database. */
  public readonly clientEnvironment: Record<string, string>;
  /** The function that applies the migrations; undefined when `runMigrations` is false. */
  public readonly migrationFunction?: CachePyramidFunction;
  /** The custom resource that runs it. */
  public readonly migrations?: CustomResource;
  /** SHA-256 over the names and contents of the migration files. */
  public readonly migrationsHash?: string;
  private readonly clusterIdentifier?: string;

  constructor(scope: Construct, id: string, props: OriginDatabaseProps) {
    super(scope, id);
    validateProps(props);
    const migrationsDirectory = props.migrationsDirectory ?? DEFAULT_MIGRATIONS_DIR;
    // Hashing reads the folder, so a missing or empty one fails here, before any resource exists.
    this.migrationsHash = (props.runMigrations ?? true) ? hashMigrations(migrationsDirectory) : undefined;
    const subnets = props.vpcSubnets ?? defaultSubnets(props.vpc);

    if (props.existingDatabase) {
      const existing = props.existingDatabase;
      this.secret = existing.secret;
      this.endpointAddress = existing.endpointAddress;
      this.port = existing.port ?? 5432;
      this.databaseName = existing.databaseName;
      this.securityGroup = existing.securityGroup;
      this.clusterIdentifier = existing.clusterIdentifier;
    } else {
      const stage = props.stage ?? DatabaseStage.PROD;
      const prod = stage === DatabaseStage.PROD;
      this.port = props.port ?? 5432;
      this.databaseName = props.databaseName ?? 'cache_pyramid';
      const removalPolicy = props.removalPolicy ?? (prod ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY);
      let key = props.encryptionKey;
      if (!key) {
        const created = new kms.Key(this, 'Key', {
          description: `Encrypts the origin database ${this.node.path}: storage, credentials, Performance Insights, migration logs`,
          enableKeyRotation: true,
          removalPolicy: removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
        });
        restrictKmsGrantsToAwsServices(created);
        key = created;
      }
      this.encryptionKey = key;
      const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: `Origin database: port ${this.port} from granted functions only`,
        allowAllOutbound: false,
      });
      this.securityGroup = securityGroup;
      const readers = props.readers ?? (prod ? 1 : 0);
      const cluster = new rds.DatabaseCluster(this, 'Cluster', {
        engine: rds.DatabaseClusterEngine.auroraPostgres({ version: props.engineVersion ?? rds.AuroraPostgresEngineVersion.VER_17_5 }),
        credentials: rds.Credentials.fromGeneratedSecret('pyramid_admin', { encryptionKey: key }),
        defaultDatabaseName: this.databaseName,
        port: this.port,
        writer: rds.ClusterInstance.serverlessV2('Writer', { enablePerformanceInsights: true, performanceInsightEncryptionKey: key }),
        readers: Array.from({ length: readers }, (_, i) =>
          rds.ClusterInstance.serverlessV2(`Reader${i + 1}`, { scaleWithWriter: true, enablePerformanceInsights: true, performanceInsightEncryptionKey: key }),
        ),
        serverlessV2MinCapacity: props.minCapacityAcu ?? 0.5,
        serverlessV2MaxCapacity: props.maxCapacityAcu ?? 4,
        vpc: props.vpc,
        vpcSubnets: subnets,
        securityGroups: [securityGroup],
        storageEncrypted: true,
        storageEncryptionKey: key,
        iamAuthentication: true,
        parameters: { 'rds.force_ssl': '1' },
        backup: { retention: props.backupRetention ?? Duration.days(7), preferredWindow: '02:00-03:00' },
        preferredMaintenanceWindow: 'sun:03:30-sun:04:30',
        cloudwatchLogsExports: ['postgresql'],
        cloudwatchLogsRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        monitoringInterval: Duration.seconds(60),
        deletionProtection: props.deletionProtection ?? prod,
        removalPolicy,
        copyTagsToSnapshot: true,
      });
      this.cluster = cluster;
      this.secret = cluster.secret!;
      // The master password must outlive the cluster as long as its final snapshot does: a cluster
      // restored from that snapshot keeps the password, and a deleted secret would leave it unknown.
      // (cluster.secret is the secret's attachment to the cluster; the secret itself is the child 'Secret'.)
      (cluster.node.findChild('Secret') as rds.DatabaseSecret).applyRemovalPolicy(removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);
      this.endpointAddress = cluster.clusterEndpoint.hostname;
      this.clusterIdentifier = cluster.clusterIdentifier;
      if (props.rotateCredentialsAfter) {
        cluster.addRotationSingleUser({ automaticallyAfter: props.rotateCredentialsAfter, vpcSubnets: subnets });
      } else {
        Validations.of(cluster).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'Rotation is opt-in (`rotateCredentialsAfter`): the hosted rotation function must reach Secrets Manager and the cluster from the isolated subnets, which the deploying team should decide on; clients re-read the secret every 5 minutes so rotation needs no redeploy when enabled.',
        });
      }
      if (!(props.deletionProtection ?? prod)) {
        Validations.of(cluster).acknowledge({
          id: 'AwsSolutions-RDS10',
          reason: 'Deletion protection is off only where the stage (dev) or the caller asks for it, so that a throw-away stack can be deleted; production stages keep it on.',
        });
        Validations.of(cluster).acknowledge({
          id: 'cdk-validator-cfnguard::rds_cluster_deletion_protection_enabled_check',
          reason: 'Deletion protection is off only where the stage (dev) or the caller asks for it, so that a throw-away stack can be deleted; production stages keep it on.',
        });
      }
      this.acknowledgeLogRetentionFunction();
      if (cluster.node.tryFindChild('MonitoringRole')) {
        Validations.of(cluster.node.findChild('MonitoringRole')).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
          reason: 'Enhanced Monitoring needs the AWS-maintained role policy that lets RDS write OS metrics to the RDSOSMetrics log group; it grants nothing else.',
        });
      }
      Validations.of(cluster).acknowledge({
        id: 'AwsSolutions-RDS11',
        reason:
          'The default port is kept so that standard PostgreSQL tooling works unchanged: the cluster is in private subnets and its security group admits only the functions granted access, so a different port would hide nothing.',
      });
    }

    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(this.port) });
    this.clientEnvironment = {
      DB_HOST: this.endpointAddress,
      DB_PORT: String(this.port),
      DB_NAME: this.databaseName,
      DB_SECRET_ARN: this.secret.secretArn,
      NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
    };

    if (this.migrationsHash) {
      const { fn, resource } = this.migrationRunner(props.vpc, subnets, migrationsDirectory, this.migrationsHash, props.logRetention ?? logs.RetentionDays.ONE_YEAR);
      this.migrationFunction = fn;
      this.migrations = resource;
    }
  }

  /** Lets `grantee` connect on the database port and read the credentials secret. */
  public grantConnect(grantee: ec2.IConnectable & iam.IGrantable): void {
    this.connections.allowDefaultPortFrom(grantee, 'Granted client of the origin database');
    this.secret.grantRead(grantee);
  }

  /** Any `AWS/RDS` metric of the cluster (dimension `DBClusterIdentifier`), statistic default Average, period 5 minutes. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    if (!this.clusterIdentifier) {
      throw new Error(`\`metric('${metricName}')\` needs the cluster identifier: set \`existingDatabase.clusterIdentifier\``);
    }
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBClusterIdentifier: this.clusterIdentifier },
      ...props,
      statistic: props.statistic ?? 'Average',
      period: props.period ?? Duration.minutes(5),
    });
  }

  /** ServerlessDatabaseCapacity in ACUs, Maximum over the period (5 minutes): how close the cluster is to `maxCapacityAcu`. */
  public metricServerlessDatabaseCapacity(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ServerlessDatabaseCapacity', { statistic: 'Maximum', ...props });
  }

  /** DatabaseConnections, Maximum over the period (5 minutes). */
  public metricDatabaseConnections(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('DatabaseConnections', { statistic: 'Maximum', ...props });
  }

  /** ACUUtilization in percent of the maximum capacity, Maximum over the period (5 minutes). */
  public metricAcuUtilization(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('ACUUtilization', { statistic: 'Maximum', ...props });
  }

  /**
   * `cloudwatchLogsRetention` adds aws-cdk-lib's stack-wide log-retention function (a fixed
   * construct id); its findings are acknowledged on it, not on the stack.
   */
  private acknowledgeLogRetentionFunction(): void {
    const logRetention = Stack.of(this).node.tryFindChild('LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a');
    if (!logRetention) return;
    Validations.of(logRetention).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'aws-cdk-lib\'s log-retention function logs with the AWS-maintained basic execution policy: CreateLogGroup/CreateLogStream/PutLogEvents only.',
      },
      {
        id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
        reason: "aws-cdk-lib's log-retention function only calls the CloudWatch Logs API at deploy time; the isolated subnets have no CloudWatch Logs endpoint.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'aws-cdk-lib\'s log-retention function sets retention on log groups that RDS creates at export time, whose names are not known to the template; logs:PutRetentionPolicy/DeleteRetentionPolicy need a wildcard.',
      },
    );
  }

  private migrationRunner(
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    migrationsDirectory: string,
    hash: string,
    logRetention: logs.RetentionDays,
  ): { fn: CachePyramidFunction; resource: CustomResource } {
    const securityGroup = new ec2.SecurityGroup(this, 'MigrationSecurityGroup', {
      vpc,
      description: 'Migration function: PostgreSQL to the origin database, HTTPS to the VPC endpoints',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(443), 'Secrets Manager through its interface endpoint');
    const relativeMigrations = path.relative(PACKAGE_ROOT, migrationsDirectory);
    const insidePackage = !relativeMigrations.startsWith('..') && !path.isAbsolute(relativeMigrations);
    const fn = new CachePyramidFunction(this, 'MigrationFunction', {
      codeDir: 'migrate',
      // The folder's name only when it is outside the package: an absolute path would differ per machine.
      description: `Applies ${insidePackage ? relativeMigrations : path.basename(migrationsDirectory)} to the origin database (CloudFormation custom resource)`,
      timeout: Duration.minutes(5),
      memorySize: 256,
      vpc,
      vpcSubnets: subnets,
      securityGroups: [securityGroup],
      environment: {
        DB_HOST: this.endpointAddress,
        DB_PORT: String(this.port),
        DB_NAME: this.databaseName,
        DB_SECRET_ARN: this.secret.secretArn,
        NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
        POWERTOOLS_SERVICE_NAME: 'cache-pyramid-migrate',
      },
      bundling: { externalModules: ['@aws-sdk/*', 'pg-native'] },
      // The runner reads the .sql files at run time from ./migrations next to index.js.
      assetFolders: { migrations: migrationsDirectory },
    });
    this.grantConnect(fn);
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason:
        'A function in a VPC needs ec2:CreateNetworkInterface/DescribeNetworkInterfaces/DeleteNetworkInterface on * (they support no resource scoping); the AWS-maintained policy grants exactly those and the logging actions.',
    });

    let logKey = this.encryptionKey;
    if (!logKey) {
      const created = new kms.Key(this, 'MigrationLogKey', { description: 'Encrypts the migration provider logs', enableKeyRotation: true });
      restrictKmsGrantsToAwsServices(created);
      logKey = created;
    }
    allowLogsToUseKey(this, logKey);
    const providerLogs = new logs.LogGroup(this, 'MigrationProviderLogs', {
      retention: logRetention,
      encryptionKey: logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const provider = new cr.Provider(this, 'MigrationProvider', { onEventHandler: fn, logGroup: providerLogs });
    Validations.of(provider).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The custom-resource provider framework function (aws-cdk-lib) logs with the AWS-maintained basic execution policy: CreateLogGroup/CreateLogStream/PutLogEvents only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).resolve(Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction))}.Arn>:*]`,
        reason: 'The provider framework may invoke any version or alias of the one migration function (lambda:InvokeFunction on its ARN and ARN:*); no other function is reachable.',
      },
      {
        id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
        reason:
          'The provider framework function must call the Lambda API (to invoke the migration function, which is in the VPC) and the pre-signed S3 response URL of CloudFormation; the isolated subnets have neither endpoint, so it runs outside the VPC and touches no data itself.',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'The provider framework function runtime is chosen and kept current by aws-cdk-lib, not by this package.',
      },
    );
    const resource = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      properties: { MigrationsHash: hash, Database: this.databaseName },
    });
    if (this.cluster) resource.node.addDependency(this.cluster);
    return { fn, resource };
  }
}

/** SHA-256 over the sorted `*.sql` names and contents: a new, renamed or edited file changes it. */
export function hashMigrations(directory: string): string {
  let files: string[];
  try {
    files = readdirSync(directory).filter((f) => f.endsWith('.sql')).sort();
  } catch (error) {
    throw new Error(`\`migrationsDirectory\` must be a readable folder, got ${JSON.stringify(directory)}: ${(error as Error).message}`);
  }
  if (files.length === 0) throw new Error(`\`migrationsDirectory\` must contain at least one .sql file, got none in ${JSON.stringify(directory)}`);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0').update(readFileSync(path.join(directory, file))).update('\0');
  }
  return hash.digest('hex');
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.isolatedSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
}

function checkAcu(name: string, value: number | undefined, min: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value < min || value > 256 || !Number.isInteger(value * 2)) {
    throw new Error(`\`${name}\` must be between ${min} and 256 in steps of 0.5, got ${value}`);
  }
}

function validateProps(props: OriginDatabaseProps): void {
  checkVpc('OriginDatabase', 'vpc', props.vpc);
  checkDurationType('OriginDatabase', 'backupRetention', props.backupRetention, 'Duration.days(7)');
  checkDurationType('OriginDatabase', 'rotateCredentialsAfter', props.rotateCredentialsAfter, 'Duration.days(30)');
  if (props.existingDatabase) {
    const conflicting = CLUSTER_PROPS.filter((name) => props[name] !== undefined);
    if (conflicting.length > 0) {
      throw new Error(`\`existingDatabase\` cannot be combined with ${conflicting.map((n) => `\`${n}\``).join(', ')}: those props describe a cluster this construct creates`);
    }
    return;
  }
  const name = props.databaseName;
  if (name !== undefined && !Token.isUnresolved(name) && !/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`\`databaseName\` must be 1-63 lowercase letters, digits or underscores, not starting with a digit, got ${JSON.stringify(name)}`);
  }
  checkAcu('minCapacityAcu', props.minCapacityAcu, 0);
  checkAcu('maxCapacityAcu', props.maxCapacityAcu, 1);
  const min = props.minCapacityAcu ?? 0.5;
  const max = props.maxCapacityAcu ?? 4;
  if (!Token.isUnresolved(min) && !Token.isUnresolved(max) && max < min) {
    throw new Error(`\`maxCapacityAcu\` (${max}) must not be below \`minCapacityAcu\` (${min})`);
  }
  const readers = props.readers;
  if (readers !== undefined && !Token.isUnresolved(readers) && (!Number.isInteger(readers) || readers < 0 || readers > 15)) {
    throw new Error(`\`readers\` must be an integer between 0 and 15, got ${readers}`);
  }
  const port = props.port;
  if (port !== undefined && !Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1150 || port > 65535)) {
    throw new Error(`\`port\` must be an integer between 1150 and 65535 (Aurora's range), got ${port}`);
  }
  const retention = props.backupRetention;
  if (retention !== undefined && !retention.isUnresolved()) {
    const days = retention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1 || days > 35) {
      throw new Error(`\`backupRetention\` must be a whole number of days between 1 and 35, got ${retention.toHumanString()}`);
    }
  }
  const rotation = props.rotateCredentialsAfter;
  if (rotation !== undefined && !rotation.isUnresolved() && (rotation.toDays({ integral: false }) < 1 || rotation.toDays({ integral: false }) > 1000)) {
    throw new Error(`\`rotateCredentialsAfter\` must be between 1 and 1000 days, got ${rotation.toHumanString()}`);
  }
}
