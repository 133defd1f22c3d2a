/**
 * Checks of construct props that TypeScript states but a JavaScript caller (or a cast) gets past:
 * a missing VPC, a number where a `Duration` belongs, an empty list. Each throws at synth, before
 * any resource exists, with the construct, the prop, the rule and the value received, instead of
 * the raw `TypeError` the first use of the value would raise deep inside aws-cdk-lib.
 */

/** A value for an error message: JSON where it can, `undefined`, or the kind of object. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length <= 80) return json;
  } catch {
    // a cycle (a construct): named by its class below
  }
  if (typeof value !== 'object' || value === null) return String(value);
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  const keys = Object.keys(value);
  return `an object (${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''})`;
}

/**
 * Throws unless `value` is an `ec2.IVpc` (duck-typed: a `vpcId` and `selectSubnets`, so that a VPC
 * from another copy of aws-cdk-lib is judged by what it can do).
 */
export function checkVpc(owner: string, name: string, value: unknown): void {
  const vpc = value as { vpcId?: unknown; selectSubnets?: unknown } | undefined;
  if (value === undefined || value === null) {
    throw new Error(`${owner}: \`${name}\` is required: the VPC its functions and servers run in (CachePyramidNetwork's \`vpc\`, or your own ec2.IVpc), got ${describeValue(value)}`);
  }
  if (typeof vpc?.vpcId !== 'string' || typeof vpc.selectSubnets !== 'function') {
    throw new Error(`${owner}: \`${name}\` must be an ec2.IVpc (CachePyramidNetwork's \`vpc\`, ec2.Vpc, or ec2.Vpc.fromLookup), got ${describeValue(value)}`);
  }
}

/** Throws unless `value` is undefined (the default applies) or a `Duration`. */
export function checkDurationType(owner: string, name: string, value: unknown, example = 'Duration.seconds(30)'): void {
  if (value === undefined) return;
  const duration = value as { toMilliseconds?: unknown; isUnresolved?: unknown } | null;
  if (typeof duration?.toMilliseconds !== 'function' || typeof duration.isUnresolved !== 'function') {
    throw new Error(`${owner}: \`${name}\` must be a Duration (e.g. ${example}), got ${describeValue(value)}`);
  }
}

/** Throws unless `value` is present (not undefined or null); `what` says what the prop is for. */
export function checkRequired(owner: string, name: string, value: unknown, what: string): void {
  if (value === undefined || value === null) throw new Error(`${owner}: \`${name}\` is required: ${what}, got ${describeValue(value)}`);
}

/** Throws unless `value` is undefined (when `optional`) or an array; with `nonEmpty`, one with at least one element. */
export function checkList(owner: string, name: string, value: unknown, options: { readonly optional?: boolean; readonly nonEmpty?: boolean; readonly what: string }): void {
  if (value === undefined && options.optional) return;
  if (!Array.isArray(value)) throw new Error(`${owner}: \`${name}\` must be an array of ${options.what}, got ${describeValue(value)}`);
  if (options.nonEmpty && value.length === 0) {
    throw new Error(`${owner}: \`${name}\` must hold at least one ${options.what}, got []${options.optional ? ` (leave it out for none)` : ''}`);
  }
}
