/**
 * The publisher's split: one invalidation request into as many `CacheInvalidation` details as it
 * takes for each to fit one EventBridge entry (bytes) and to stay within every count the purgers
 * accept (limits.ts). An event over a count would be dead-lettered whole, purging nothing.
 */
import { ValidationError } from '../errors';
import { EVENT_LIMITS, INVALIDATION_LIST_FIELDS, InvalidationListField } from './limits';
import type { CacheInvalidationDetail } from './messages';

type Lists = Record<InvalidationListField, string[]>;

function emptyLists(): Lists {
  return { keys: [], keyPatterns: [], paths: [], tags: [] };
}

/**
 * Splits `request` into details that each stay within `maxDetailBytes` (the `detail` JSON, UTF-8) and
 * within `limits` per list. Lists are filled in order (keys, key patterns, paths, tags), so items keep
 * their order; every detail carries the request's `upToVersion`, `reason` and `purgeAll`.
 */
export function splitInvalidation(request: CacheInvalidationDetail, maxDetailBytes: number, limits: Readonly<Record<InvalidationListField, number>> = EVENT_LIMITS): CacheInvalidationDetail[] {
  const shared = {
    ...(request.upToVersion !== undefined ? { upToVersion: request.upToVersion } : {}),
    ...(request.reason !== undefined ? { reason: request.reason } : {}),
    ...(request.purgeAll !== undefined ? { purgeAll: request.purgeAll } : {}),
  };
  // The size of a detail with every list present and empty: an upper bound on what the lists add around their items.
  const base = Buffer.byteLength(JSON.stringify({ ...emptyLists(), ...shared }), 'utf8');
  const details: Lists[] = [];
  let current = emptyLists();
  let size = base;
  for (const field of INVALIDATION_LIST_FIELDS) {
    for (const item of request[field] ?? []) {
      // The item as JSON plus the comma before it.
      const itemBytes = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
      if (base + itemBytes > maxDetailBytes) throw new ValidationError(field, `one entry is ${itemBytes} bytes, too large for an event`);
      if (size + itemBytes > maxDetailBytes || current[field].length === limits[field]) {
        details.push(current);
        current = emptyLists();
        size = base;
      }
      current[field].push(item);
      size += itemBytes;
    }
  }
  details.push(current);
  return details.map((lists) => {
    const present = INVALIDATION_LIST_FIELDS.filter((field) => lists[field].length > 0).map((field) => [field, lists[field]]);
    return { ...Object.fromEntries(present), ...shared };
  });
}
