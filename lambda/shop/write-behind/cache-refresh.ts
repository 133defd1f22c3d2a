/**
 * After the flusher commits profile changes, the cached profiles (what `GET /api/users/{id}`
 * serves) are replaced by the rows as PostgreSQL now holds them. The store is version-guarded: a
 * profile cached by a newer PATCH (a higher version) is left alone, an equal or older one is
 * replaced by the row. So any difference between the cache and the database — a lost race, a
 * profile rebuilt from PostgreSQL while older changes were still queued — lasts only until the
 * flush.
 */
import { CacheUnavailableError, type CacheKeys, type ReadThroughCache } from 'cache-pyramid/runtime';
import type { UserSummary } from '../repositories';
import { user } from '../resources';

export function refreshCachedProfiles(cache: Pick<ReadThroughCache, 'put'>, keys: CacheKeys): (profiles: readonly UserSummary[]) => Promise<void> {
  return async (profiles) => {
    const results = await Promise.allSettled(profiles.map((p) => cache.put(user.key(keys, { id: p.id }), user.ttl, p, { version: p.version })));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      throw new CacheUnavailableError(`${failed.length} of ${profiles.length} cached profiles not refreshed: ${String(failed[0].reason)}`);
    }
  };
}
