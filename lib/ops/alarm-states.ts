import { CloudWatchClient, DescribeAlarmsCommand, DescribeAlarmsCommandOutput, StateValue } from '@aws-sdk/client-cloudwatch';
import { explainAwsError } from './errors';

/** One alarm's state, as `alarms` reports it. */
export interface AlarmState {
  readonly name: string;
  readonly region: string;
  readonly state: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly since?: string;
}

/** A CloudWatch client and the region it talks to. */
export interface RegionalCloudWatch {
  readonly region: string;
  readonly client: Pick<CloudWatchClient, 'send'>;
}

/**
 * Every metric and composite alarm whose name starts with `prefix` in each region, ALARM first,
 * then INSUFFICIENT_DATA, then OK, by name within a state.
 */
export async function listAlarms(regions: readonly RegionalCloudWatch[], prefix: string, state?: StateValue): Promise<AlarmState[]> {
  const alarms: AlarmState[] = [];
  for (const { region, client } of regions) {
    let nextToken: string | undefined;
    do {
      let page: DescribeAlarmsCommandOutput;
      try {
        page = await client.send(
          new DescribeAlarmsCommand({ AlarmNamePrefix: `${prefix}-`, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], StateValue: state, NextToken: nextToken }),
        );
      } catch (error) {
        throw explainAwsError(error, `cloudwatch:DescribeAlarms in ${region}`);
      }
      for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
        alarms.push({
          name: alarm.AlarmName ?? '?',
          region,
          state: alarm.StateValue ?? 'UNKNOWN',
          reason: alarm.StateReason ?? '',
          since: alarm.StateUpdatedTimestamp?.toISOString(),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  const order = [StateValue.ALARM, StateValue.INSUFFICIENT_DATA, StateValue.OK] as string[];
  const rank = (alarmState: string) => (order.includes(alarmState) ? order.indexOf(alarmState) : order.length);
  return alarms.sort((a, b) => rank(a.state) - rank(b.state) || a.name.localeCompare(b.name));
}

/** The human-readable form: one line per alarm, the reason under the ones not OK. */
export function renderAlarms(stackName: string, prefix: string, alarms: readonly AlarmState[]): string {
  if (alarms.length === 0) return `Stack ${stackName}: no alarms named ${prefix}-*`;
  const firing = alarms.filter((alarm) => alarm.state === StateValue.ALARM).length;
  const lines = [`Stack ${stackName}: ${alarms.length} alarms, ${firing} in ALARM`];
  const width = Math.max(...alarms.map((alarm) => alarm.name.length));
  for (const alarm of alarms) {
    lines.push(`  ${alarm.state.padEnd(17)} ${alarm.name.padEnd(width)}  ${alarm.region}  since ${alarm.since ?? '-'}`);
    if (alarm.state !== StateValue.OK && alarm.reason) lines.push(`  ${''.padEnd(17)} ${alarm.reason}`);
  }
  return lines.join('\n');
}
