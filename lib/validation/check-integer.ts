import { Token } from 'aws-cdk-lib';

/**
 * Throws at synth when a numeric prop is not an integer in `[min, max]`; `undefined` (the default
 * applies) and unresolved tokens pass. The message names the prop, after `owner: ` when one is given.
 */
export function checkInteger(owner: string | undefined, name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${owner === undefined ? '' : `${owner}: `}\`${name}\` must be an integer between ${min} and ${max}, got ${value}`);
  }
}
