import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DatabaseStage, DEFAULT_MIGRATIONS_DIR, hashMigrations, OriginDatabase, OriginDatabaseProps } from '../../../lib/database/origin-database';

interface Fixture {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
}

function fixture(): Fixture {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2, subnetConfiguration: [{ name: 'iso', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  return { stack, vpc };
}

function database(f: Fixture, props: Partial<OriginDatabaseProps> = {}): OriginDatabase {
  return new OriginDatabase(f.stack, 'Database', { vpc: f.vpc, ...props });
}

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('OriginDatabase', () => {
  describe('a new Aurora cluster', () => {
    test('is Aurora PostgreSQL 17 Serverless v2, encrypted with its own key, IAM auth on, TLS forced, logs exported', () => {
      const f = fixture();
      database(f);
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        EngineVersion: '17.5',
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
        EnableIAMDatabaseAuthentication: true,
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
        DatabaseName: 'cache_pyramid',
        Port: 5432,
        BackupRetentionPeriod: 7,
        EnableCloudwatchLogsExports: ['postgresql'],
        DeletionProtection: true,
        CopyTagsToSnapshot: true,
      });
      template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
      template.hasResourceProperties('Custom::LogRetention', { RetentionInDays: 365 });
      template.allResourcesProperties('AWS::RDS::DBInstance', Match.objectLike({ MonitoringInterval: 60, MonitoringRoleArn: Match.anyValue() }));
    });

    test('generates its credentials in a secret encrypted with the same key', () => {
      const f = fixture();
      database(f);
      Template.fromStack(f.stack).hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"pyramid_admin"}', GenerateStringKey: 'password' }),
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
      });
    });

    test('prod: a serverless v2 writer and a reader in its scaling tier, with Performance Insights; snapshot on deletion', () => {
      const f = fixture();
      database(f);
      const template = Template.fromStack(f.stack);
      template.resourcePropertiesCountIs('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', EnablePerformanceInsights: true }, 2);
      template.hasResourceProperties('AWS::RDS::DBInstance', { PromotionTier: 1 });
      template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Snapshot' });
    });

    test('dev: writer only, no deletion protection, destroyed with the stack', () => {
      const f = fixture();
      database(f, { stage: DatabaseStage.DEV });
      const template = Template.fromStack(f.stack);
      template.resourceCountIs('AWS::RDS::DBInstance', 1);
      template.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
      template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
    });

    test('takes capacity, readers, version, backups and explicit protection settings', () => {
      const f = fixture();
      database(f, {
        stage: DatabaseStage.DEV,
        engineVersion: rds.AuroraPostgresEngineVersion.VER_16_6,
        minCapacityAcu: 0,
        maxCapacityAcu: 16,
        readers: 2,
        backupRetention: Duration.days(14),
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::RDS::DBCluster', {
        EngineVersion: '16.6',
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 16 },
        BackupRetentionPeriod: 14,
        DeletionProtection: true,
      });
      template.resourceCountIs('AWS::RDS::DBInstance', 3);
      template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Retain' });
    });

    test('rotates the credentials when asked', () => {
      const f = fixture();
      database(f, { rotateCredentialsAfter: Duration.days(30) });
      Template.fromStack(f.stack).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    });

    test('sits in the isolated subnets behind its own security group, with no ingress until granted', () => {
      const f = fixture();
      const db = database(f, { runMigrations: false });
      const template = Template.fromStack(f.stack);
      template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: [{ Ref: Match.stringLikeRegexp('VpcisoSubnet1') }, { Ref: Match.stringLikeRegexp('VpcisoSubnet2') }] });
      template.hasResourceProperties('AWS::RDS::DBCluster', { VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseSecurityGroup'), 'GroupId'] }] });
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      expect(db.migrationFunction).toBeUndefined();
    });
  });

  describe('access', () => {
    test('grantConnect opens the port to the function only and lets it read the credentials secret', () => {
      const f = fixture();
      const db = database(f, { runMigrations: false });
      const fn = new lambda.Function(f.stack, 'Fn', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => 1;'),
        vpc: f.vpc,
      });
      db.grantConnect(fn);
      const template = Template.fromStack(f.stack);
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: 5432,
        ToPort: 5432,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseSecurityGroup'), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('FnSecurityGroup'), 'GroupId'] },
      });
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('DatabaseClusterSecretAttachment') } })]) },
      });
    });

    test('clientEnvironment names host, port, database, secret and the RDS CA bundle', () => {
      const f = fixture();
      const env = f.stack.resolve(database(f, { runMigrations: false }).clientEnvironment);
      expect(env).toEqual({
        DB_HOST: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Address'] },
        DB_PORT: '5432',
        DB_NAME: 'cache_pyramid',
        DB_SECRET_ARN: { Ref: expect.stringMatching(/^DatabaseClusterSecretAttachment/) },
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      });
    });

    test('metric helpers read the cluster dimension', () => {
      const f = fixture();
      const db = database(f, { runMigrations: false });
      const capacity = db.metricServerlessDatabaseCapacity();
      expect(capacity.metricName).toBe('ServerlessDatabaseCapacity');
      expect(capacity.namespace).toBe('AWS/RDS');
      expect(capacity.statistic).toBe('Maximum');
      expect(f.stack.resolve(capacity.dimensions)).toEqual({ DBClusterIdentifier: { Ref: expect.stringMatching(/^DatabaseCluster/) } });
      expect(db.metricDatabaseConnections().metricName).toBe('DatabaseConnections');
      expect(db.metricAcuUtilization().metricName).toBe('ACUUtilization');
    });
  });

  describe('migrations', () => {
    test('run in a VPC function through a custom resource that depends on the cluster and carries the folder hash', () => {
      const f = fixture();
      const db = database(f);
      const template = Template.fromStack(f.stack);
      template.hasResource('Custom::DatabaseMigrations', {
        Properties: { MigrationsHash: hashMigrations(DEFAULT_MIGRATIONS_DIR), Database: 'cache_pyramid', ServiceToken: Match.anyValue() },
        DependsOn: Match.arrayWith([Match.stringLikeRegexp('DatabaseClusterWriter')]),
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: 'Applies db/migrations to the origin database (CloudFormation custom resource)',
        Timeout: 300,
        VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseMigrationSecurityGroup'), 'GroupId'] }] },
        Environment: { Variables: Match.objectLike({ DB_NAME: 'cache_pyramid', DB_PORT: '5432', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }) },
      });
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: 5432,
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseMigrationSecurityGroup'), 'GroupId'] },
      });
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'Migration function: PostgreSQL to the origin database, HTTPS to the VPC endpoints',
        SecurityGroupEgress: [Match.objectLike({ FromPort: 443, CidrIp: { 'Fn::GetAtt': [Match.stringLikeRegexp('Vpc'), 'CidrBlock'] } })],
      });
      expect(db.migrationsHash).toMatch(/^[0-9a-f]{64}$/);
    });

    test('the hash changes when a file is added or edited, and not when nothing changes', () => {
      const dir = migrationsDir({ '001_init.sql': 'create table a (id int);' });
      const first = hashMigrations(dir);
      expect(hashMigrations(dir)).toBe(first);
      writeFileSync(path.join(dir, '001_init.sql'), 'create table a (id bigint);');
      const edited = hashMigrations(dir);
      expect(edited).not.toBe(first);
      writeFileSync(path.join(dir, '002_more.sql'), 'create table b (id int);');
      expect(hashMigrations(dir)).not.toBe(edited);
    });

    test('a custom migrations folder outside the package is copied from its absolute path', () => {
      const f = fixture();
      const dir = migrationsDir({ '001_x.sql': 'select 1;' });
      const db = database(f, { migrationsDirectory: dir, stage: DatabaseStage.DEV });
      expect(db.migrationsHash).toBe(hashMigrations(dir));
    });
  });

  describe('an existing database', () => {
    test('is wired without creating a cluster, and still gets its migrations', () => {
      const f = fixture();
      const sg = new ec2.SecurityGroup(f.stack, 'ExistingSg', { vpc: f.vpc });
      const secret = new secretsmanager.Secret(f.stack, 'ExistingSecret');
      const db = database(f, { existingDatabase: { endpointAddress: 'db.internal', databaseName: 'shop', secret, securityGroup: sg, clusterIdentifier: 'shop-cluster' } });
      const template = Template.fromStack(f.stack);
      template.resourceCountIs('AWS::RDS::DBCluster', 0);
      template.resourceCountIs('Custom::DatabaseMigrations', 1);
      expect(db.cluster).toBeUndefined();
      expect(db.clientEnvironment.DB_HOST).toBe('db.internal');
      expect(db.metricDatabaseConnections().dimensions).toEqual({ DBClusterIdentifier: 'shop-cluster' });
    });

    test('metric helpers explain what is missing without a cluster identifier', () => {
      const f = fixture();
      const db = database(f, {
        runMigrations: false,
        existingDatabase: { endpointAddress: 'db.internal', databaseName: 'shop', secret: new secretsmanager.Secret(f.stack, 'S'), securityGroup: new ec2.SecurityGroup(f.stack, 'G', { vpc: f.vpc }) },
      });
      expect(() => db.metricServerlessDatabaseCapacity()).toThrow("`metric('ServerlessDatabaseCapacity')` needs the cluster identifier: set `existingDatabase.clusterIdentifier`");
    });
  });

  describe('validation', () => {
    test('rejects existingDatabase together with cluster props', () => {
      const f = fixture();
      const existing = { endpointAddress: 'h', databaseName: 'd', secret: new secretsmanager.Secret(f.stack, 'S'), securityGroup: new ec2.SecurityGroup(f.stack, 'G', { vpc: f.vpc }) };
      expect(() => database(f, { existingDatabase: existing, readers: 1, stage: DatabaseStage.DEV })).toThrow(/`existingDatabase` cannot be combined with `stage`, `readers`/);
    });

    test.each(['Shop', '1shop', 'shop-db', 'x'.repeat(64)])('rejects databaseName %p', (databaseName) => {
      expect(() => database(fixture(), { databaseName })).toThrow(/`databaseName` must be 1-63 lowercase letters, digits or underscores/);
    });

    test.each([-0.5, 0.7, 257])('rejects minCapacityAcu %p', (minCapacityAcu) => {
      expect(() => database(fixture(), { minCapacityAcu })).toThrow(`\`minCapacityAcu\` must be between 0 and 256 in steps of 0.5, got ${minCapacityAcu}`);
    });

    test.each([0.5, 300])('rejects maxCapacityAcu %p', (maxCapacityAcu) => {
      expect(() => database(fixture(), { maxCapacityAcu })).toThrow(`\`maxCapacityAcu\` must be between 1 and 256 in steps of 0.5, got ${maxCapacityAcu}`);
    });

    test('rejects a maximum below the minimum', () => {
      expect(() => database(fixture(), { minCapacityAcu: 8, maxCapacityAcu: 4 })).toThrow('`maxCapacityAcu` (4) must not be below `minCapacityAcu` (8)');
    });

    test.each([-1, 16, 1.5])('rejects readers %p', (readers) => {
      expect(() => database(fixture(), { readers })).toThrow(`\`readers\` must be an integer between 0 and 15, got ${readers}`);
    });

    test('rejects a port outside Aurora\'s range', () => {
      expect(() => database(fixture(), { port: 80 })).toThrow("`port` must be an integer between 1150 and 65535 (Aurora's range), got 80");
    });

    test.each([Duration.days(0), Duration.days(36), Duration.hours(36)])('rejects backupRetention %p', (backupRetention) => {
      expect(() => database(fixture(), { backupRetention })).toThrow(/`backupRetention` must be a whole number of days between 1 and 35/);
    });

    test('rejects a rotation interval under a day', () => {
      expect(() => database(fixture(), { rotateCredentialsAfter: Duration.hours(2) })).toThrow('`rotateCredentialsAfter` must be between 1 and 1000 days, got 2 hours');
    });

    test('rejects a migrations folder that does not exist or holds no SQL', () => {
      expect(() => database(fixture(), { migrationsDirectory: '/nonexistent/migrations' })).toThrow(/`migrationsDirectory` must be a readable folder, got "\/nonexistent\/migrations"/);
      const empty = mkdtempSync(path.join(tmpdir(), 'empty-'));
      expect(() => database(fixture(), { migrationsDirectory: empty })).toThrow(/`migrationsDirectory` must contain at least one .sql file/);
    });
  });
});
