import { L1_BUS_ENV } from '../../lambda/runtime/cache/l1-bus';

/** Environment variable the `l1Bus` prop sets (`CACHE_L1_BUS`), read by the runtime's `parseBusMode`. */
export { L1_BUS_ENV };

/**
 * How an API function's L1 learns of other instances' writes (`CACHE_L1_BUS`, docs/runtime.md
 * "Choosing bus, sync or TTL"): `OFF` leaves it to the L1 TTL; `LISTEN` subscribes to the invalidation
 * bus; `SYNC` also makes one round trip on the bus connection at the start of each invocation, so what
 * arrived while the sandbox was frozen is applied before L1 is read (the one that suits Lambda).
 * The values are those of the runtime's `BusMode`, which the function parses (a test holds them equal).
 */
export enum L1Bus {
  OFF = 'off',
  LISTEN = 'listen',
  SYNC = 'sync',
}

/**
 * The function environment that `l1Bus` asks for (`CACHE_L1_BUS`, nothing when it is not given, so
 * the function runs with its default, off), checked before any resource exists: an unknown mode, or
 * the variable also given in the construct's extra environment, is an error naming both props.
 * Shared by {@link CacheApi} and {@link ResourceApi}.
 *
 * @param construct the construct's name, first in error messages
 * @param l1Bus the `l1Bus` prop
 * @param environmentProp the name of the construct's extra-environment prop (`apiEnvironment`, `environment`)
 * @param environment that prop's value
 */
export function l1BusEnvironment(construct: string, l1Bus: L1Bus | undefined, environmentProp: string, environment: Readonly<Record<string, string>> | undefined): Record<string, string> {
  if (l1Bus === undefined) return {};
  if (!Object.values(L1Bus).includes(l1Bus)) {
    throw new Error(`${construct}: \`l1Bus\` must be one of ${Object.values(L1Bus).join(', ')}, got ${JSON.stringify(l1Bus)}`);
  }
  if (environment?.[L1_BUS_ENV] !== undefined) {
    throw new Error(
      `${construct}: set the L1 bus with \`l1Bus\` or \`${environmentProp}.${L1_BUS_ENV}\`, not both (got ${JSON.stringify(l1Bus)} and ${JSON.stringify(environment[L1_BUS_ENV])})`,
    );
  }
  return { [L1_BUS_ENV]: l1Bus };
}
