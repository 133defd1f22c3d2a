import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** What every alarm group of this package shares: how its alarms are named and whom they notify. */
export interface AlarmGroupProps {
  /** Prefix of every alarm name; each alarm is named `<alarmNamePrefix>-<suffix>` with a fixed suffix. */
  readonly alarmNamePrefix: string;
  /** Actions run when an alarm enters ALARM and again when it returns to OK. @default - no actions */
  readonly alarmActions?: cloudwatch.IAlarmAction[];
}

/** One alarm of a group: its metric, its rule and what the on-call engineer should read. */
export interface PyramidAlarmSpec {
  /** Fixed, kebab-case end of the alarm name. */
  readonly suffix: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  /** @default evaluationPeriods (every datapoint of the window must breach) */
  readonly datapointsToAlarm?: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** What is wrong and what to check first. */
  readonly description: string;
}

const ALARM_NAME_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const ALARM_SUFFIX = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Throws unless `prefix` can start an alarm (and dashboard) name: 1-128 letters, digits, `_` or `-`. */
export function validateAlarmNamePrefix(prop: string, prefix: string): void {
  if (Token.isUnresolved(prefix)) {
    throw new Error(`\`${prop}\` must be a literal string so alarm names are stable, got a token`);
  }
  if (!ALARM_NAME_PREFIX.test(prefix)) {
    throw new Error(
      `\`${prop}\` must be 1-128 letters, digits, '_' or '-' starting with a letter or digit, got '${prefix}'`,
    );
  }
}

/** Throws unless `value` is a kebab-case name usable in an alarm suffix. */
export function validateKebabName(prop: string, value: string): void {
  if (Token.isUnresolved(value) || !ALARM_SUFFIX.test(value) || value.length > 64) {
    throw new Error(`\`${prop}\` must be a kebab-case literal of at most 64 characters (e.g. 'write-behind'), got '${value}'`);
  }
}

/** Throws unless `value` lies in [min, max]. */
export function validateRange(prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`\`${prop}\` must be between ${min} and ${max}, got ${value}`);
  }
}

/** Throws unless `window` is a whole number of minutes between 1 and 1440 (CloudWatch evaluates at most one day). */
export function validateWindowMinutes(prop: string, window: Duration | undefined): void {
  if (window === undefined || window.isUnresolved()) return;
  const minutes = window.toSeconds() / 60;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    throw new Error(`\`${prop}\` must be a whole number of minutes between 1 and 1440, got ${window.toHumanString()}`);
  }
}

/** Throws when two entries of a list share a name, which would give two alarms the same name. */
export function validateUniqueNames(prop: string, names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new Error(`\`${prop}\` names must be unique (they end up in alarm names), got '${name}' twice`);
    }
    seen.add(name);
  }
}

/** The alarm name `<prefix>-<suffix>`. */
export function alarmName(prefix: string, suffix: string): string {
  return `${prefix}-${suffix}`;
}

/** Creates one alarm named `<prefix>-<suffix>` whose ALARM and OK transitions both run the group's actions. */
export function createPyramidAlarm(scope: Construct, id: string, group: AlarmGroupProps, spec: PyramidAlarmSpec): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmName: alarmName(group.alarmNamePrefix, spec.suffix),
    alarmDescription: spec.description,
    metric: spec.metric,
    threshold: spec.threshold,
    comparisonOperator: spec.comparisonOperator,
    evaluationPeriods: spec.evaluationPeriods,
    datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
    treatMissingData: spec.treatMissingData,
  });
  for (const action of group.alarmActions ?? []) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}

/**
 * Splits `items` into the fewest contiguous groups of at most `maxPerGroup`, as even in size as
 * possible, so a large cluster's nodes spread over alarms that each stay within CloudWatch's limit.
 */
export function balancedGroups<T>(items: readonly T[], maxPerGroup: number): T[][] {
  if (items.length === 0) return [];
  const groupCount = Math.ceil(items.length / maxPerGroup);
  const baseSize = Math.floor(items.length / groupCount);
  const larger = items.length % groupCount;
  const groups: T[][] = [];
  let start = 0;
  for (let i = 0; i < groupCount; i++) {
    const size = baseSize + (i < larger ? 1 : 0);
    groups.push(items.slice(start, start + size));
    start += size;
  }
  return groups;
}

/** A number as CloudWatch prints it in descriptions: no trailing zeros. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}
