/**
 * Makes a process that loads this module first use the tag index as it was before issue 20
 * (./naive-tag-index.ts) wherever the runtime builds a `TagIndex`: for tests that show, on the real
 * `npm run dev` over HTTP, what the fix changed. Only tests load it, through node's `--import`
 * (`startDevServer(env, { preload: NAIVE_TAG_INDEX_PRELOAD })` in ./dev-server.ts); no production
 * code path knows it exists.
 *
 * Each `TagIndex` delegates its five operations to a `NaiveTagIndex` over the same store and keys;
 * `NaiveTagIndex` overrides all five, so it never reaches these delegating methods itself.
 */
import { TagIndex } from '../../lambda/runtime/cache/tag-index';
import { NaiveTagIndex } from './naive-tag-index';

type Delegated = 'ticket' | 'record' | 'invalidate' | 'cleanup' | 'loader';
const DELEGATED: readonly Delegated[] = ['ticket', 'record', 'invalidate', 'cleanup', 'loader'];

const naiveOf = new WeakMap<TagIndex, NaiveTagIndex>();

function naive(index: TagIndex): NaiveTagIndex {
  let found = naiveOf.get(index);
  if (!found) {
    const { store, keys } = index as unknown as { store: ConstructorParameters<typeof NaiveTagIndex>[0]; keys: ConstructorParameters<typeof NaiveTagIndex>[1] };
    found = new NaiveTagIndex(store, keys, { staleTtlSeconds: index.staleTtlSeconds, markTtlMs: index.markTtlMs });
    naiveOf.set(index, found);
  }
  return found;
}

for (const name of DELEGATED) {
  Object.defineProperty(TagIndex.prototype, name, {
    configurable: true,
    writable: true,
    value: function (this: TagIndex, ...args: unknown[]): unknown {
      const target = naive(this);
      return (target[name] as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}

process.stderr.write('naive tag index preloaded: TagIndex delegates to NaiveTagIndex (test only)\n');
