/**
 * The AWS side of a secret rotation, faked over aws-sdk-client-mock, with the data plane real:
 * - Secrets Manager: the secret's versions (the latest is AWSCURRENT), counting reads;
 * - CloudFront: the distribution's config (ETag-guarded updates) and its edges, which switch to a
 *   new origin header one by one while the change deploys;
 * - ElastiCache: ModifyReplicationGroup applied after a delay to a real Redis, ROTATE as a second
 *   password of the `default` ACL user (both valid), SET as `resetpass` + the new one (only it).
 */
import * as cloudfront from '@aws-sdk/client-cloudfront';
import { GetDistributionCommand, UpdateDistributionCommand, type DistributionConfig } from '@aws-sdk/client-cloudfront';
import * as elasticache from '@aws-sdk/client-elasticache';
import { DescribeReplicationGroupsCommand, ModifyReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import * as secretsmanager from '@aws-sdk/client-secrets-manager';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { AwsStub } from 'aws-sdk-client-mock';
import type Redis from 'ioredis';

/** The simulated time, shared by the fakes, the verifiers and the rotation driver. */
export class Clock {
  constructor(public now: number) {}
}

export class FakeSecretsManager {
  private readonly versions = new Map<string, { text: string; createdAt: number }[]>();
  /** GetSecretValue calls per secret. */
  readonly reads = new Map<string, number>();

  constructor(
    mock: AwsStub<secretsmanager.ServiceInputTypes, secretsmanager.ServiceOutputTypes, secretsmanager.SecretsManagerClientResolvedConfig>,
    private readonly clock: Clock,
  ) {
    mock.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }) => {
      this.reads.set(input.SecretId, (this.reads.get(input.SecretId) ?? 0) + 1);
      const latest = this.versions.get(input.SecretId)?.at(-1);
      if (!latest) throw Object.assign(new Error(`no secret ${input.SecretId}`), { name: 'ResourceNotFoundException' });
      return { ARN: input.SecretId, SecretString: latest.text, CreatedDate: new Date(latest.createdAt), VersionStages: ['AWSCURRENT'] };
    });
    mock.on(PutSecretValueCommand).callsFake(async (input: { SecretId: string; SecretString: string }) => {
      this.put(input.SecretId, input.SecretString);
      return { ARN: input.SecretId };
    });
  }

  put(secretId: string, text: string): void {
    const list = this.versions.get(secretId) ?? [];
    list.push({ text, createdAt: this.clock.now });
    this.versions.set(secretId, list);
  }

  current(secretId: string): string {
    return this.versions.get(secretId)!.at(-1)!.text;
  }
}

export class FakeCloudFront {
  private config: DistributionConfig;
  private etag = 1;
  private status = 'Deployed';
  private deployStartedAt = 0;
  private previousHeader: string;
  updates = 0;

  constructor(
    mock: AwsStub<cloudfront.ServiceInputTypes, cloudfront.ServiceOutputTypes, cloudfront.CloudFrontClientResolvedConfig>,
    private readonly clock: Clock,
    readonly distributionId: string,
    header: string,
    private readonly edges: number,
    private readonly deployMs: number,
  ) {
    this.previousHeader = header;
    this.config = {
      CallerReference: 'ref',
      Comment: 'api',
      Enabled: true,
      DefaultCacheBehavior: { TargetOriginId: 'api', ViewerProtocolPolicy: 'https-only' },
      Origins: {
        Quantity: 1,
        Items: [{ Id: 'api', DomainName: 'api.execute-api.example', CustomHeaders: { Quantity: 1, Items: [{ HeaderName: 'x-origin-verify', HeaderValue: header }] } }],
      },
    };
    mock.on(GetDistributionCommand).callsFake(async (input: { Id: string }) => {
      this.check(input.Id);
      this.settle();
      return { ETag: `E${this.etag}`, Distribution: { Id: input.Id, ARN: 'arn', Status: this.status, DomainName: 'd.cloudfront.net', LastModifiedTime: new Date(), InProgressInvalidationBatches: 0, ActiveTrustedSigners: undefined, DistributionConfig: structuredClone(this.config) } };
    });
    mock.on(UpdateDistributionCommand).callsFake(async (input: { Id: string; IfMatch: string; DistributionConfig: DistributionConfig }) => {
      this.check(input.Id);
      if (input.IfMatch !== `E${this.etag}`) throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed' });
      this.previousHeader = this.configuredHeader;
      this.config = structuredClone(input.DistributionConfig);
      this.etag += 1;
      this.status = 'InProgress';
      this.deployStartedAt = this.clock.now;
      this.updates += 1;
      return { ETag: `E${this.etag}` };
    });
  }

  private check(id: string): void {
    if (id !== this.distributionId) throw Object.assign(new Error(`no distribution ${id}`), { name: 'NoSuchDistribution' });
  }

  private settle(): void {
    if (this.status === 'InProgress' && this.clock.now >= this.deployStartedAt + this.deployMs) this.status = 'Deployed';
  }

  /** The header edge `edge` sends now: the old one until its turn in the deployment comes. */
  headerSentBy(edge: number): string {
    this.settle();
    if (this.status === 'Deployed') return this.configuredHeader;
    const switchesAt = this.deployStartedAt + ((edge + 1) / (this.edges + 1)) * this.deployMs;
    return this.clock.now >= switchesAt ? this.configuredHeader : this.previousHeader;
  }

  get deployed(): boolean {
    this.settle();
    return this.status === 'Deployed';
  }

  /** The header the distribution's config holds (what every edge sends once deployed). */
  get configuredHeader(): string {
    return this.config.Origins!.Items![0].CustomHeaders!.Items![0].HeaderValue!;
  }
}

export class FakeElastiCache {
  private status = 'available';
  private pending?: { token: string; strategy: string; applyAt: number };
  private lastModified?: Date;
  readonly applied: string[] = [];
  /** The next ModifyReplicationGroup fails with this (a throttled or lost call). */
  failNextModify?: Error;

  constructor(
    mock: AwsStub<elasticache.ServiceInputTypes, elasticache.ServiceOutputTypes, elasticache.ElastiCacheClientResolvedConfig>,
    private readonly clock: Clock,
    readonly replicationGroupId: string,
    /** An admin connection (its own ACL user) to the Redis standing in for the replication group. */
    private readonly admin: Redis,
    private readonly applyMs: number,
  ) {
    mock.on(DescribeReplicationGroupsCommand).callsFake(async (input: { ReplicationGroupId: string }) => {
      if (input.ReplicationGroupId !== replicationGroupId) throw Object.assign(new Error('not found'), { name: 'ReplicationGroupNotFoundFault' });
      return { ReplicationGroups: [{ ReplicationGroupId: replicationGroupId, Status: this.status, AuthTokenEnabled: true, AuthTokenLastModifiedDate: this.lastModified }] };
    });
    mock.on(ModifyReplicationGroupCommand).callsFake(async (input: { ReplicationGroupId: string; AuthToken: string; AuthTokenUpdateStrategy: string; ApplyImmediately: boolean }) => {
      if (input.ReplicationGroupId !== replicationGroupId) throw Object.assign(new Error('not found'), { name: 'ReplicationGroupNotFoundFault' });
      const failure = this.failNextModify;
      this.failNextModify = undefined;
      if (failure) throw failure;
      if (this.status !== 'available') throw Object.assign(new Error('group is modifying'), { name: 'InvalidReplicationGroupStateFault' });
      if (!input.ApplyImmediately) throw new Error('the rotation must apply immediately');
      this.status = 'modifying';
      this.pending = { token: input.AuthToken, strategy: input.AuthTokenUpdateStrategy, applyAt: this.clock.now + this.applyMs };
      return { ReplicationGroup: { ReplicationGroupId: replicationGroupId, Status: 'modifying' } };
    });
  }

  /** Applies a modification whose time has come, as ElastiCache would in the background. */
  async tick(): Promise<void> {
    if (!this.pending || this.clock.now < this.pending.applyAt) return;
    const { token, strategy } = this.pending;
    if (strategy === 'ROTATE') await this.admin.call('ACL', 'SETUSER', 'default', 'on', `>${token}`);
    else await this.admin.call('ACL', 'SETUSER', 'default', 'on', 'resetpass', `>${token}`);
    this.applied.push(strategy);
    this.pending = undefined;
    this.status = 'available';
    this.lastModified = new Date(this.clock.now);
  }

  /** Drops every application connection (a failover, a node replaced): each client must authenticate again. */
  async dropClientConnections(): Promise<void> {
    await this.admin.call('CLIENT', 'KILL', 'USER', 'default');
  }
}
