/**
 * Wiring invariants read from a synthesised CloudFormation template: who may publish where, who may
 * call what, and which network path a call takes. Each check returns the violations it found as
 * sentences (empty when the template is sound), so a test can both assert `[]` on the real templates
 * and see a check fail on a template broken on purpose.
 */
import type { AwsApiCall } from '../../lambda/runtime/aws/aws-calls';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CfnJson = Record<string, any>;

/** A template with what is needed to resolve pseudo parameters in ARNs. */
export interface TemplateUnderTest {
  readonly name: string;
  readonly template: CfnJson;
  readonly region: string;
}

const ACCOUNT = '111111111111';
const PARTITION = 'aws';

function resources(t: TemplateUnderTest, type: string): Array<[string, CfnJson]> {
  return Object.entries((t.template.Resources ?? {}) as Record<string, CfnJson>).filter(([, r]) => r.Type === type);
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The logical ids a value refers to (Ref, Fn::GetAtt), anywhere inside it. */
export function referencedIds(value: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as CfnJson;
      if (typeof o.Ref === 'string' && !o.Ref.startsWith('AWS::')) ids.add(o.Ref);
      if (Array.isArray(o['Fn::GetAtt'])) ids.add(o['Fn::GetAtt'][0]);
      Object.values(o).forEach(walk);
    }
  };
  walk(value);
  return ids;
}

/** A string value with pseudo parameters filled in (account 111111111111); other tokens become `${id}`. */
export function render(t: TemplateUnderTest, value: unknown): string {
  if (typeof value === 'string') return value;
  const o = value as CfnJson;
  if (o?.Ref === 'AWS::Partition') return PARTITION;
  if (o?.Ref === 'AWS::Region') return t.region;
  if (o?.Ref === 'AWS::AccountId') return ACCOUNT;
  if (o?.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (typeof o?.Ref === 'string') return `\${${o.Ref}}`;
  if (Array.isArray(o?.['Fn::GetAtt'])) return `\${${o['Fn::GetAtt'].join('.')}}`;
  if (Array.isArray(o?.['Fn::Join'])) return (o['Fn::Join'][1] as unknown[]).map((part) => render(t, part)).join(o['Fn::Join'][0]);
  return JSON.stringify(value);
}

/** IAM-style wildcard match (`*`, `?`), case-insensitive as IAM actions are. */
export function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'i' : '');
  return regex.test(value);
}

function actionAllowed(statement: CfnJson, action: string): boolean {
  return asArray<string>(statement.Action).some((a) => globMatches(a, action, true));
}

function principalIsService(statement: CfnJson, service: string): boolean {
  return asArray<string>(statement.Principal?.Service).some((s) => render({ name: '', template: {}, region: '' }, s) === service);
}

/**
 * Whether the statement's conditions let a request whose context is `context` through (the
 * condition operators the templates use: StringEquals, ArnLike/ArnEquals/StringLike, Bool).
 */
function conditionsHold(t: TemplateUnderTest, statement: CfnJson, context: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries((statement.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      const values = asArray(expected).map((v) => render(t, v));
      if (actual === undefined) return false;
      if (operator === 'StringEquals' || operator === 'ArnEquals' || operator === 'Bool') {
        if (!values.includes(actual)) return false;
      } else if (operator === 'ArnLike' || operator === 'StringLike') {
        if (!values.some((v) => globMatches(v, actual))) return false;
      } else {
        return false;
      }
    }
  }
  return true;
}

/** True when a resource policy lets the service principal do `action` for a request with `context`, and no Deny applies. */
function resourcePolicyAdmits(t: TemplateUnderTest, statements: CfnJson[], service: string, action: string, context: Record<string, string>): boolean {
  const secure = { ...context, 'aws:SecureTransport': 'true' };
  const denied = statements.some((s) => s.Effect === 'Deny' && actionAllowed(s, action) && denyApplies(t, s, secure));
  const allowed = statements.some((s) => s.Effect === 'Allow' && principalIsService(s, service) && actionAllowed(s, action) && conditionsHold(t, s, secure));
  return allowed && !denied;
}

/** A Deny applies unless its condition is the "not over TLS" one the request does not meet. */
function denyApplies(t: TemplateUnderTest, statement: CfnJson, context: Record<string, string>): boolean {
  if (statement.Condition === undefined) return true;
  return conditionsHold(t, statement, context);
}

// ───────────────────────────── alarms → topics ─────────────────────────────

/** Every alarm action is a topic of the template whose topic policy and key policy admit CloudWatch for that alarm. */
export function alarmActionViolations(t: TemplateUnderTest): string[] {
  const violations: string[] = [];
  const topicPolicies = resources(t, 'AWS::SNS::TopicPolicy');
  for (const [alarmId, alarm] of resources(t, 'AWS::CloudWatch::Alarm')) {
    const alarmArn = `arn:${PARTITION}:cloudwatch:${t.region}:${ACCOUNT}:alarm:${render(t, alarm.Properties.AlarmName)}`;
    const context = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn };
    for (const action of [...asArray(alarm.Properties.AlarmActions), ...asArray(alarm.Properties.OKActions)]) {
      const topicId = (action as CfnJson).Ref as string | undefined;
      const topic = topicId === undefined ? undefined : t.template.Resources[topicId];
      if (topic?.Type !== 'AWS::SNS::Topic') {
        violations.push(`${t.name}: alarm ${alarmId} notifies ${JSON.stringify(action)}, not a topic of this template`);
        continue;
      }
      const statements = topicPolicies.filter(([, p]) => referencedIds(p.Properties.Topics).has(topicId!)).flatMap(([, p]) => asArray<CfnJson>(p.Properties.PolicyDocument.Statement));
      if (!resourcePolicyAdmits(t, statements, 'cloudwatch.amazonaws.com', 'sns:Publish', context)) {
        violations.push(`${t.name}: the policy of topic ${topicId} does not let CloudWatch publish for alarm ${alarmId} (${alarmArn})`);
      }
      const keyIds = [...referencedIds(topic.Properties.KmsMasterKeyId)];
      if (topic.Properties.KmsMasterKeyId !== undefined && keyIds.length === 0) {
        violations.push(`${t.name}: topic ${topicId} is encrypted with ${JSON.stringify(topic.Properties.KmsMasterKeyId)}, a key CloudWatch alarms cannot use unless its policy says so`);
      }
      for (const keyId of keyIds) {
        const key = t.template.Resources[keyId];
        const keyStatements = asArray<CfnJson>(key?.Properties?.KeyPolicy?.Statement);
        for (const keyAction of ['kms:Decrypt', 'kms:GenerateDataKey']) {
          if (!resourcePolicyAdmits(t, keyStatements, 'cloudwatch.amazonaws.com', keyAction, context)) {
            violations.push(`${t.name}: the policy of key ${keyId} (topic ${topicId}) does not allow CloudWatch ${keyAction} for alarm ${alarmId}`);
          }
        }
      }
    }
  }
  return violations;
}

// ───────────────────────────── functions → AWS APIs ─────────────────────────────

/** A function of the template and the calls its code declares. */
export interface DeclaredFunction {
  readonly logicalId: string;
  readonly calls: readonly AwsApiCall[];
}

function roleStatements(t: TemplateUnderTest, roleId: string): CfnJson[] {
  const role = t.template.Resources[roleId];
  const inline = asArray<CfnJson>(role?.Properties?.Policies).flatMap((p) => asArray<CfnJson>(p.PolicyDocument.Statement));
  const attached = resources(t, 'AWS::IAM::Policy')
    .filter(([, p]) => asArray(p.Properties.Roles).some((r) => (r as CfnJson).Ref === roleId))
    .flatMap(([, p]) => asArray<CfnJson>(p.Properties.PolicyDocument.Statement));
  return [...inline, ...attached];
}

/** Managed policies that grant X-Ray writes (what `tracing: ACTIVE` attaches, or writes inline). */
const XRAY_MANAGED = /AWSXRayDaemonWriteAccess|AWSXrayWriteOnlyAccess/;

function securityGroupsOf(fn: CfnJson): string[] {
  return asArray(fn.Properties.VpcConfig?.SecurityGroupIds).flatMap((sg) => [...referencedIds(sg)]);
}

/** Egress rules of a group: inline ones and separate `AWS::EC2::SecurityGroupEgress` resources. */
function egressRules(t: TemplateUnderTest, sgId: string): CfnJson[] {
  const inline = asArray<CfnJson>(t.template.Resources[sgId]?.Properties?.SecurityGroupEgress);
  const separate = resources(t, 'AWS::EC2::SecurityGroupEgress')
    .filter(([, r]) => referencedIds(r.Properties.GroupId).has(sgId))
    .map(([, r]) => r.Properties as CfnJson);
  return [...inline, ...separate];
}

function ingressRules(t: TemplateUnderTest, sgId: string): CfnJson[] {
  const inline = asArray<CfnJson>(t.template.Resources[sgId]?.Properties?.SecurityGroupIngress);
  const separate = resources(t, 'AWS::EC2::SecurityGroupIngress')
    .filter(([, r]) => referencedIds(r.Properties.GroupId).has(sgId))
    .map(([, r]) => r.Properties as CfnJson);
  return [...inline, ...separate];
}

function coversHttps(rule: CfnJson): boolean {
  if (rule.IpProtocol === '-1') return true;
  return rule.IpProtocol === 'tcp' && rule.FromPort <= 443 && rule.ToPort >= 443;
}

/** A CIDR as the template spells it, resolved to a literal where it is a VPC's `CidrBlock` attribute. */
function cidrOf(t: TemplateUnderTest, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const getAtt = (value as CfnJson | undefined)?.['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'CidrBlock') return t.template.Resources[getAtt[0]]?.Properties?.CidrBlock;
  return undefined;
}

/** Whether `fromSg`'s egress and `endpointSgs`' ingress let HTTPS from the function to the endpoint. */
function hasHttpsPath(t: TemplateUnderTest, functionSgs: string[], endpointSgs: string[]): boolean {
  const egress = functionSgs.flatMap((sg) => egressRules(t, sg)).filter(coversHttps);
  const ingress = endpointSgs.flatMap((sg) => ingressRules(t, sg)).filter(coversHttps);
  const outByCidr = new Set(egress.map((r) => cidrOf(t, r.CidrIp)).filter((c): c is string => c !== undefined));
  const outToEndpointSg = egress.some((r) => endpointSgs.some((sg) => referencedIds(r.DestinationSecurityGroupId).has(sg)));
  const inByCidr = ingress.some((r) => {
    const cidr = cidrOf(t, r.CidrIp);
    return cidr !== undefined && outByCidr.has(cidr);
  });
  const inFromFunctionSg = ingress.some((r) => functionSgs.some((sg) => referencedIds(r.SourceSecurityGroupId).has(sg)));
  return (outByCidr.size > 0 || outToEndpointSg) && (inByCidr || inFromFunctionSg);
}

/**
 * Every declared call of every function has an IAM allow on the resource the function is
 * configured with; a function in a VPC also has an interface endpoint with private DNS for it and
 * an HTTPS path through the security groups.
 */
export function functionCallViolations(t: TemplateUnderTest, functions: readonly DeclaredFunction[]): string[] {
  const violations: string[] = [];
  const endpoints = resources(t, 'AWS::EC2::VPCEndpoint');
  for (const { logicalId, calls } of functions) {
    const fn = t.template.Resources[logicalId];
    if (fn?.Type !== 'AWS::Lambda::Function') {
      violations.push(`${t.name}: ${logicalId} is not a function of this template`);
      continue;
    }
    const env = (fn.Properties.Environment?.Variables ?? {}) as CfnJson;
    const roleId = [...referencedIds(fn.Properties.Role)][0];
    const statements = roleStatements(t, roleId);
    const managed = asArray(t.template.Resources[roleId]?.Properties?.ManagedPolicyArns).map((arn) => render(t, arn));
    const inVpc = fn.Properties.VpcConfig !== undefined;
    const functionSgs = securityGroupsOf(fn);
    for (const call of calls) {
      const configured = call.resourceEnv === undefined ? undefined : env[call.resourceEnv];
      if (call.resourceEnv !== undefined && configured === undefined) {
        if (!call.optional) violations.push(`${t.name}: ${logicalId} calls ${call.action} on ${call.resourceEnv}, which is not in its environment`);
        continue;
      }
      const resourceIds = configured === undefined ? new Set<string>() : referencedIds(configured);
      const allowed =
        (call.action.startsWith('xray:') && managed.some((arn) => XRAY_MANAGED.test(arn))) ||
        statements.some(
          (s) =>
            s.Effect === 'Allow' &&
            actionAllowed(s, call.action) &&
            asArray(s.Resource).some((resource) => resource === '*' || (resourceIds.size > 0 && [...referencedIds(resource)].some((id) => resourceIds.has(id)))),
        );
      if (!allowed) {
        violations.push(`${t.name}: the role of ${logicalId} does not allow ${call.action}${call.resourceEnv === undefined ? '' : ` on the resource of ${call.resourceEnv} (${JSON.stringify(configured)})`}`);
      }
      if (!inVpc) continue;
      if (call.endpointService === undefined) {
        violations.push(`${t.name}: ${logicalId} runs in a VPC but calls ${call.action}, which has no interface endpoint`);
        continue;
      }
      const serviceName = `com.amazonaws.${t.region}.${call.endpointService}`;
      const endpoint = endpoints.find(([, e]) => render(t, e.Properties.ServiceName) === serviceName && e.Properties.VpcEndpointType === 'Interface');
      if (endpoint === undefined) {
        violations.push(`${t.name}: ${logicalId} calls ${call.action} from its VPC, which has no ${serviceName} interface endpoint`);
        continue;
      }
      if (endpoint[1].Properties.PrivateDnsEnabled !== true) {
        violations.push(`${t.name}: the ${serviceName} endpoint ${endpoint[0]} has no private DNS, so ${logicalId}'s SDK would call the public endpoint`);
      }
      const endpointSgs = asArray(endpoint[1].Properties.SecurityGroupIds).flatMap((sg) => [...referencedIds(sg)]);
      if (!hasHttpsPath(t, functionSgs, endpointSgs)) {
        violations.push(`${t.name}: no HTTPS path from ${logicalId}'s security groups to the ${serviceName} endpoint ${endpoint[0]}`);
      }
    }
  }
  return violations;
}

// ───────────────────────────── producers → queues, buses, topics ─────────────────────────────

/**
 * Every EventBridge rule target (and its dead-letter queue) that is a queue with a policy is
 * admitted by that policy for that rule; every Lambda or identity producer of a queue, bus or topic
 * is not denied by its resource policy; and every topic an alarm notifies is checked by
 * {@link alarmActionViolations}.
 */
export function producerViolations(t: TemplateUnderTest): string[] {
  const violations: string[] = [];
  const queuePolicies = resources(t, 'AWS::SQS::QueuePolicy');
  const statementsOfQueue = (queueId: string): CfnJson[] | undefined => {
    const policies = queuePolicies.filter(([, p]) => asArray(p.Properties.Queues).some((q) => referencedIds(q).has(queueId)));
    return policies.length === 0 ? undefined : policies.flatMap(([, p]) => asArray<CfnJson>(p.Properties.PolicyDocument.Statement));
  };
  for (const [ruleId, rule] of resources(t, 'AWS::Events::Rule')) {
    // The rule's ARN as the template refers to it (its name is generated at deploy).
    const ruleArn = render(t, { 'Fn::GetAtt': [ruleId, 'Arn'] });
    for (const target of asArray<CfnJson>(rule.Properties.Targets)) {
      const queues = [target.Arn, target.DeadLetterConfig?.Arn].filter((arn) => arn !== undefined).flatMap((arn) => [...referencedIds(arn)]).filter((id) => t.template.Resources[id]?.Type === 'AWS::SQS::Queue');
      for (const queueId of queues) {
        const statements = statementsOfQueue(queueId);
        // A queue without a policy admits no service principal at all.
        if (statements === undefined || !resourcePolicyAdmits(t, statements, 'events.amazonaws.com', 'sqs:SendMessage', { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': ACCOUNT })) {
          violations.push(`${t.name}: the policy of queue ${queueId} does not let rule ${ruleId} (EventBridge) send to it`);
        }
      }
    }
  }
  // Identity-based producers (function roles) need only their own allow, unless a resource policy denies them.
  const producers: Array<[string, string, string]> = [];
  for (const [roleId] of resources(t, 'AWS::IAM::Role')) {
    for (const s of roleStatements(t, roleId).filter((st) => st.Effect === 'Allow')) {
      for (const resource of asArray(s.Resource)) {
        for (const id of referencedIds(resource)) {
          const type = t.template.Resources[id]?.Type;
          if (type === 'AWS::SQS::Queue' && actionAllowed(s, 'sqs:SendMessage')) producers.push([roleId, id, 'sqs:SendMessage']);
          if (type === 'AWS::Events::EventBus' && actionAllowed(s, 'events:PutEvents')) producers.push([roleId, id, 'events:PutEvents']);
          if (type === 'AWS::SNS::Topic' && actionAllowed(s, 'sns:Publish')) producers.push([roleId, id, 'sns:Publish']);
        }
      }
    }
  }
  const topicPolicies = resources(t, 'AWS::SNS::TopicPolicy');
  const busPolicies = resources(t, 'AWS::Events::EventBusPolicy');
  for (const [roleId, targetId, action] of producers) {
    const statements =
      action === 'sqs:SendMessage'
        ? (statementsOfQueue(targetId) ?? [])
        : action === 'sns:Publish'
          ? topicPolicies.filter(([, p]) => referencedIds(p.Properties.Topics).has(targetId)).flatMap(([, p]) => asArray<CfnJson>(p.Properties.PolicyDocument.Statement))
          : busPolicies.filter(([, p]) => referencedIds(p.Properties.EventBusName).has(targetId)).map(([, p]) => p.Properties.Statement as CfnJson);
    const context = { 'aws:SecureTransport': 'true', 'aws:PrincipalAccount': ACCOUNT, 'aws:SourceAccount': ACCOUNT };
    const denied = statements.filter((s) => s.Effect === 'Deny' && actionAllowed(s, action) && denyApplies(t, s, context));
    if (denied.length > 0) violations.push(`${t.name}: the policy of ${targetId} denies ${action} to ${roleId}, which is granted it`);
  }
  return violations;
}

// ───────────────────────────── security groups ─────────────────────────────

/** Every security group declares its egress inline, so EC2 adds no default allow-all rule. */
export function securityGroupEgressViolations(t: TemplateUnderTest): string[] {
  return resources(t, 'AWS::EC2::SecurityGroup')
    .filter(([, sg]) => asArray(sg.Properties.SecurityGroupEgress).length === 0)
    .map(([id]) => `${t.name}: security group ${id} declares no inline egress, so EC2 keeps its default allow-all egress rule`);
}
