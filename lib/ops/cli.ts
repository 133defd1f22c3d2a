#!/usr/bin/env node
/**
 * `cache-pyramid`: the operator's CLI for a deployed pyramid stack. Argument parsing and printing
 * live here; every command is a function over AWS clients in its own module.
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, StateValue } from '@aws-sdk/client-cloudwatch';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeInvalidationPublisher } from '../../lambda/runtime/invalidation/publisher';
import { RegionalCloudWatch, listAlarms, renderAlarms } from './alarm-states';
import { AVAILABLE, describeCache, renderCacheStatus } from './cache-status';
import { ExitCode, OpsError, UsageError, explainAwsError } from './errors';
import { DrillClock, REAL_CLOCK, renderDrillProgress, renderDrillResult, runFailoverDrill } from './failover-drill';
import { InvalidationResult, invalidateDirectly, invalidateThroughPipeline, renderInvalidation } from './invalidate';
import { startDev } from './dev';
import { CacheKind, DEFAULT_STACK_NAME, StackOutput, cacheOf, loadStack, requireOutput } from './stack-outputs';

/** CloudFront publishes its metrics, and the pyramid keeps its edge alarms, in us-east-1. */
const EDGE_REGION = 'us-east-1';

export const USAGE = `Usage: cache-pyramid <command> [options]

Commands:
  dev --handler FILE          Serve your handler on http://127.0.0.1:3000 as API Gateway and CloudFront
                              would call it, on a Redis and PostgreSQL started here (unless REDIS_URL /
                              DATABASE_URL are set). A .ts handler needs tsx in your app (npm i -D tsx).
      --migrations DIR        Apply these NNN_name.sql migrations to the PostgreSQL started here.
      --port PORT             Default: 3000 (0 for a free port).
      --host HOST             Default: 127.0.0.1.
      --export NAME           The handler's export. Default: handler.
  status                      The stack's cache: status, engine, shards, nodes and their roles.
                              Exits 4 when the cache is not available.
  alarms [--state STATE]      The stack's alarms (and its CloudFront alarms in us-east-1), ALARM first.
                              STATE is ALARM, OK or INSUFFICIENT_DATA. Exits 5 when any alarm is in ALARM.
  invalidate <path>...        Publish a CacheInvalidation event on the stack's bus; the pipeline purges
                              Redis and CloudFront with retries and a DLQ.
      --key KEY               Also purge this Redis key (repeatable).
      --key-pattern PATTERN   Also purge the keys matching this pattern (repeatable).
      --reason TEXT           Why, recorded with the event. Default: "cache-pyramid CLI".
      --direct                Call CloudFront CreateInvalidation directly instead (paths only).
  failover-drill --yes        ElastiCache TestFailover on one shard, then follow it until the group is
                              available again. Without --yes it only says what it would do (exit 2).
      --shard ID              The shard (node group) to fail over. Default: the first, 0001.
      --interval SECONDS      Time between progress checks. Default: 15.
      --timeout SECONDS       Give up waiting after this long (exit 6). Default: 1800.

Options:
  --stack NAME                The stack to operate on. Default: $CACHE_PYRAMID_STACK or ${DEFAULT_STACK_NAME}.
  --region REGION             The stack's region. Default: AWS_REGION or your profile's region.
  --json                      Print one JSON document on stdout (errors too), for scripts.
  -h, --help                  Show this help.

Exit codes: 0 ok, 1 AWS call failed, 2 usage, 3 credentials/region/stack, 4 cache not available,
5 alarms firing, 6 failover drill timed out.`;

/** The AWS clients a command needs, for one region (plus CloudWatch elsewhere). */
export interface AwsClients {
  readonly region: string;
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly elastiCache: Pick<ElastiCacheClient, 'send'>;
  readonly eventBridge: Pick<EventBridgeClient, 'send'>;
  readonly cloudFront: Pick<CloudFrontClient, 'send'>;
  cloudWatch(region: string): Pick<CloudWatchClient, 'send'>;
}

/** What the CLI talks to: injected so tests run it whole against mocked clients and a fake clock. */
export interface CliDependencies {
  /** Resolves when `dev` should stop. @default - at SIGINT or SIGTERM */
  untilStopped?(): Promise<string>;
  /**
   * Ends the process once `dev` has stopped its servers: the handler's own clients (its module-scope
   * runtime, reconnecting to the stopped Redis) are not the CLI's to close. @default - not called
   */
  exit?(code: number): void;
  /** Creates the clients; `region` is `--region` when given. */
  clients(region: string | undefined): Promise<AwsClients>;
  readonly clock: DrillClock;
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Real SDK clients; the region comes from `--region` or the SDK's usual chain (env, profile). */
export async function realClients(region: string | undefined): Promise<AwsClients> {
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  let resolved: string;
  try {
    resolved = await cloudFormation.config.region();
  } catch (error) {
    throw explainAwsError(error, 'resolving the AWS region');
  }
  const cloudWatchByRegion = new Map<string, CloudWatchClient>();
  return {
    region: resolved,
    cloudFormation,
    elastiCache: new ElastiCacheClient({ region: resolved }),
    eventBridge: new EventBridgeClient({ region: resolved }),
    cloudFront: new CloudFrontClient({ region: EDGE_REGION }),
    cloudWatch(cloudWatchRegion) {
      const existing = cloudWatchByRegion.get(cloudWatchRegion) ?? new CloudWatchClient({ region: cloudWatchRegion });
      cloudWatchByRegion.set(cloudWatchRegion, existing);
      return existing;
    },
  };
}

const OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  state: { type: 'string' },
  key: { type: 'string', multiple: true },
  'key-pattern': { type: 'string', multiple: true },
  reason: { type: 'string' },
  direct: { type: 'boolean', default: false },
  shard: { type: 'string' },
  yes: { type: 'boolean', default: false },
  interval: { type: 'string' },
  timeout: { type: 'string' },
  handler: { type: 'string' },
  migrations: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  export: { type: 'string' },
} as const;

type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Options each command accepts besides the common ones. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  status: [],
  alarms: ['state'],
  invalidate: ['key', 'key-pattern', 'reason', 'direct'],
  'failover-drill': ['shard', 'yes', 'interval', 'timeout'],
  dev: ['handler', 'migrations', 'port', 'host', 'export'],
};
const COMMON_OPTIONS = ['stack', 'region', 'json', 'help'];

/** Runs one command line and returns the exit code; never throws. */
export async function main(argv: readonly string[], deps: CliDependencies): Promise<number> {
  let json = argv.includes('--json');
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
    }
    const { values, positionals } = parsed;
    json = values.json;
    const [command, ...operands] = positionals;
    if (values.help || command === undefined || command === 'help') {
      deps.stdout(USAGE);
      return command === undefined && !values.help ? ExitCode.USAGE : ExitCode.OK;
    }
    if (!(command in COMMAND_OPTIONS)) throw new UsageError(`Unknown command '${command}'.\n\n${USAGE}`);
    checkOptions(command, values);
    if (command !== 'invalidate' && operands.length > 0) throw new UsageError(`${command} takes no arguments, got '${operands.join(' ')}'.`);
    return await run(command, operands, values, deps);
  } catch (error) {
    const failure = error instanceof OpsError ? error : new OpsError(`Unexpected error: ${(error as Error).stack ?? String(error)}`, ExitCode.FAILED);
    if (json) deps.stdout(JSON.stringify({ error: failure.message, exitCode: failure.exitCode }, null, 2));
    else deps.stderr(`cache-pyramid: ${failure.message}`);
    return failure.exitCode;
  }
}

function checkOptions(command: string, values: Parsed): void {
  const allowed = new Set([...COMMON_OPTIONS, ...COMMAND_OPTIONS[command]]);
  for (const [name, value] of Object.entries(values)) {
    const isSet = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
    if (isSet && !allowed.has(name)) throw new UsageError(`--${name} is not an option of ${command}.`);
  }
}

async function run(command: string, operands: string[], values: Parsed, deps: CliDependencies): Promise<number> {
  if (command === 'dev') return runDev(values, deps);
  const stackName = values.stack ?? deps.env.CACHE_PYRAMID_STACK ?? DEFAULT_STACK_NAME;
  const print = (result: object, text: string) => deps.stdout(values.json ? JSON.stringify({ stack: stackName, command, ...result }, null, 2) : text);
  // Argument errors come before any AWS call.
  const state = parseState(values.state);
  const intervalMs = parseSeconds('--interval', values.interval, 15);
  const timeoutMs = parseSeconds('--timeout', values.timeout, 1800);
  if (command === 'invalidate' && values.direct && ((values.key ?? []).length > 0 || (values['key-pattern'] ?? []).length > 0)) {
    throw new UsageError('--direct sends paths to CloudFront only; --key and --key-pattern need the pipeline (drop --direct).');
  }
  if (command === 'invalidate' && operands.length === 0 && (values.key ?? []).length === 0 && (values['key-pattern'] ?? []).length === 0) {
    throw new UsageError('invalidate needs at least one path (or --key / --key-pattern), e.g. cache-pyramid invalidate /api/products/42');
  }

  const clients = await deps.clients(values.region);
  const stack = await loadStack(clients.cloudFormation, stackName, clients.region);

  switch (command) {
    case 'status': {
      const cache = await describeCache(clients.elastiCache, cacheOf(stack));
      print({ cache }, renderCacheStatus(stack.name, cache));
      return cache.status === AVAILABLE ? ExitCode.OK : ExitCode.CACHE_NOT_AVAILABLE;
    }
    case 'alarms': {
      const prefix = requireOutput(stack, StackOutput.ALARM_PREFIX, 'names the stack\'s alarms');
      const regions: RegionalCloudWatch[] = [{ region: clients.region, client: clients.cloudWatch(clients.region) }];
      if (stack.outputs[StackOutput.DISTRIBUTION_ID] && clients.region !== EDGE_REGION) {
        regions.push({ region: EDGE_REGION, client: clients.cloudWatch(EDGE_REGION) });
      }
      const alarms = await listAlarms(regions, prefix, state);
      print({ alarmPrefix: prefix, alarms }, renderAlarms(stack.name, prefix, alarms));
      return alarms.some((alarm) => alarm.state === StateValue.ALARM) ? ExitCode.ALARMS_FIRING : ExitCode.OK;
    }
    case 'invalidate': {
      let result: InvalidationResult;
      if (values.direct) {
        const distributionId = requireOutput(stack, StackOutput.DISTRIBUTION_ID, 'is the distribution --direct invalidates');
        result = await invalidateDirectly(clients.cloudFront, { distributionId, paths: operands, now: () => deps.clock.now() });
      } else {
        const eventBusName = requireOutput(stack, StackOutput.EVENT_BUS_NAME, 'is the bus invalidation events go to');
        const publisher = new EventBridgeInvalidationPublisher({ client: clients.eventBridge, eventBusName, sleep: (ms) => deps.clock.sleep(ms) });
        result = await invalidateThroughPipeline(publisher, {
          eventBusName,
          paths: operands,
          keys: values.key ?? [],
          keyPatterns: values['key-pattern'] ?? [],
          reason: values.reason ?? 'cache-pyramid CLI',
        });
      }
      print({ invalidation: result }, renderInvalidation(stack.name, result));
      return ExitCode.OK;
    }
    case 'failover-drill': {
      const cache = cacheOf(stack);
      if (cache.kind === CacheKind.SERVERLESS) {
        throw new OpsError(
          `Stack '${stack.name}' runs the serverless cache '${cache.id}', which has no shards to fail over: ElastiCache Serverless replicates and fails over on its own.`,
          ExitCode.CACHE_NOT_AVAILABLE,
        );
      }
      const result = await runFailoverDrill(clients.elastiCache, {
        replicationGroupId: cache.id,
        shardId: values.shard,
        confirmed: values.yes,
        pollIntervalMs: intervalMs,
        timeoutMs,
        clock: deps.clock,
        onStart: (shardId) => deps.stderr(`TestFailover started on shard ${shardId} of ${cache.id}; checking every ${intervalMs / 1000} s (up to ${timeoutMs / 1000} s)...`),
        onProgress: (progress) => deps.stderr(renderDrillProgress(progress)),
      });
      print({ drill: result }, renderDrillResult(stack.name, result));
      return ExitCode.OK;
    }
    default:
      throw new UsageError(`Unknown command '${command}'.`);
  }
}

/** `dev`: serves until stopped; the servers it started stop with it. */
async function runDev(values: Parsed, deps: CliDependencies): Promise<number> {
  if (values.handler === undefined) throw new UsageError('dev needs --handler FILE, e.g. cache-pyramid dev --handler ./src/handler.ts');
  const port = values.port === undefined ? 3000 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) throw new UsageError(`--port must be an integer between 0 and 65535, got '${values.port}'.`);
  const loop = await startDev({
    handler: values.handler,
    migrations: values.migrations,
    port,
    host: values.host,
    exportName: values.export,
    env: deps.env,
    log: (line) => deps.stderr(line),
  });
  deps.stdout(`cache-pyramid dev: ${values.handler} on ${loop.url} (Ctrl-C stops it and the servers it started)`);
  const signal = await (deps.untilStopped?.() ?? new Promise<string>((resolve) => ['SIGINT', 'SIGTERM'].forEach((name) => process.once(name, () => resolve(name)))));
  deps.stderr(`${signal}: closing`);
  await loop.close();
  deps.exit?.(ExitCode.OK);
  return ExitCode.OK;
}

function parseState(state: string | undefined): StateValue | undefined {
  if (state === undefined) return undefined;
  const states = Object.values(StateValue) as string[];
  if (!states.includes(state)) throw new UsageError(`--state must be one of ${states.join(', ')}, got '${state}'.`);
  return state as StateValue;
}

function parseSeconds(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 86_400) throw new UsageError(`${option} must be a whole number of seconds between 1 and 86400, got '${value}'.`);
  return seconds * 1000;
}

/** Runs the CLI on this process's arguments and streams (the `cache-pyramid` bin, bin/cache-pyramid-cli.js). */
export function runFromProcess(): void {
  void main(process.argv.slice(2), {
    clients: realClients,
    clock: REAL_CLOCK,
    env: process.env,
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    exit: (code) => process.exit(code),
  }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) runFromProcess();
