import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  AlarmGroupProps,
  createPyramidAlarm,
  validateAlarmNamePrefix,
  validateKebabName,
  validateUniqueNames,
} from './alarm-support';

const ONE_MINUTE = Duration.minutes(1);

/** A queue to watch, with its dead-letter queue, and the short name its alarms carry. */
export interface MonitoredQueue {
  /** Kebab-case name in the alarm names: `<prefix>-queue-<name>-oldest-message`. */
  readonly name: string;
  /** The work queue (write-behind, invalidation, ...). */
  readonly queue: sqs.IQueue;
  /** Its dead-letter queue. @default - the queue's own `deadLetterQueue` when it is an `sqs.Queue`, else no DLQ alarm */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Age of the oldest message above which the backlog alarm fires. @default Duration.minutes(5) */
  readonly maxMessageAge?: Duration;
  /** What consumes the queue, named in the alarm descriptions. @default 'its consumer function' */
  readonly consumerDescription?: string;
}

/** Alarms of one queue. */
export interface QueueAlarmSet {
  readonly name: string;
  readonly oldestMessage: cloudwatch.Alarm;
  /** Undefined when the queue has no DLQ. */
  readonly deadLetters?: cloudwatch.Alarm;
}

/** Props for {@link QueueAlarms}. */
export interface QueueAlarmsProps extends AlarmGroupProps {
  /** The queues to watch. */
  readonly queues: MonitoredQueue[];
  /** How minutes without queue metrics are treated (SQS stops publishing for idle queues). @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/**
 * Per queue: the oldest message is too old (the consumer is failing or too slow: writes are not
 * reaching the database, or invalidations are not reaching Redis/CloudFront), and any message in
 * the DLQ (a record that exhausted its retries; nothing is dropped, but someone must look).
 */
export class QueueAlarms extends Construct {
  /** Alarms per queue, in the order given. */
  readonly queueAlarms: QueueAlarmSet[];
  /** Every alarm of this group. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: QueueAlarmsProps) {
    super(scope, id);
    validateAlarmNamePrefix('alarmNamePrefix', props.alarmNamePrefix);
    props.queues.forEach((queue, index) => {
      validateKebabName(`queues[${index}].name`, queue.name);
      const age = queue.maxMessageAge;
      if (age !== undefined && !age.isUnresolved() && (age.toSeconds() < 60 || age.toSeconds() > Duration.days(14).toSeconds())) {
        throw new Error(`\`queues[${index}].maxMessageAge\` must be between 1 minute and 14 days (SQS's longest retention), got ${age.toHumanString()}`);
      }
    });
    validateUniqueNames('queues', props.queues.map((queue) => queue.name));

    const group: AlarmGroupProps = { alarmNamePrefix: props.alarmNamePrefix, alarmActions: props.alarmActions };
    const treatMissingData = props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING;

    this.queueAlarms = props.queues.map((monitored) => {
      const scope = new Construct(this, monitored.name);
      const consumer = monitored.consumerDescription ?? 'its consumer function';
      const maxAge = monitored.maxMessageAge ?? Duration.minutes(5);
      const deadLetterQueue = deadLetterQueueOf(monitored);

      const oldestMessage = createPyramidAlarm(scope, 'OldestMessage', group, {
        suffix: `queue-${monitored.name}-oldest-message`,
        metric: monitored.queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period: ONE_MINUTE }),
        threshold: maxAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData,
        description:
          `Queue ${monitored.name}: the oldest message has waited more than ${maxAge.toHumanString()}; ${consumer} is failing ` +
          'or cannot keep up, so the work it carries is late. Check first: the consumer\'s errors and throttles, its ' +
          'event source mapping (enabled, batch size, concurrency), and what it writes to (database, Redis, CloudFront).',
      });

      const deadLetters =
        deadLetterQueue === undefined
          ? undefined
          : createPyramidAlarm(scope, 'DeadLetters', group, {
              suffix: `queue-${monitored.name}-dlq-not-empty`,
              metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: ONE_MINUTE }),
              threshold: 0,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              evaluationPeriods: 1,
              treatMissingData,
              description:
                `Queue ${monitored.name}: its dead-letter queue holds messages that ${consumer} failed on every retry. ` +
                'Nothing is lost yet, but the messages expire at the end of the DLQ\'s retention. Check first: the reason ' +
                'recorded with each message and the consumer\'s error logs; fix the cause, then redrive the DLQ to the queue.',
            });

      return { name: monitored.name, oldestMessage, deadLetters };
    });
    this.alarms = this.queueAlarms.flatMap((set) => (set.deadLetters ? [set.oldestMessage, set.deadLetters] : [set.oldestMessage]));
  }
}

/** The queue's DLQ: the one given, else the `sqs.Queue`'s own, else none. */
export function deadLetterQueueOf(monitored: MonitoredQueue): sqs.IQueue | undefined {
  if (monitored.deadLetterQueue !== undefined) return monitored.deadLetterQueue;
  return monitored.queue instanceof sqs.Queue ? monitored.queue.deadLetterQueue?.queue : undefined;
}
