/**
 * The only place cache keys are spelled: `<namespace>:v<schemaVersion>:<entity>:<id>[:<facet>]`.
 *
 * In cluster mode the `<entity>:<id>` part is a hash tag (`app:v1:{user:123}:summary`), so that a
 * value and the keys derived from it (its coalescing lock, its tombstone) live in one slot and a Lua
 * script may touch them together. List keys tag their whole identity for the same reason.
 */
export interface CacheKeysOptions {
  /** First key segment, shared by every key of one application. @default 'app' */
  readonly namespace?: string;
  /** Bumped when the cached shape changes, so old entries are never read by new code. @default 1 */
  readonly schemaVersion?: number;
  /** Wrap the identity of each key in a hash tag. @default false */
  readonly clusterMode?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_.-]{1,64}$/;
/** A tag names a group of values, e.g. `category:garden`. */
export const CACHE_TAG_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Ends every coalescing lock's key (`<key>:lock`). */
export const LOCK_SUFFIX = ':lock';

/** The keys the runtime keeps for itself next to the cached values; no invalidation may remove one. */
export enum InternalKeyKind {
  TAG_SET = 'tag set',
  TAG_MARK = 'tag mark',
  TAG_CLOCK = 'tag clock',
  LOCK = 'coalescing lock',
  VERSION_CLOCK = 'write-behind version clock',
}

/** A `SCAN MATCH` glob covering every key of one internal kind (invalidation/blast-radius.ts). */
export interface InternalKeyShape {
  readonly kind: InternalKeyKind;
  readonly pattern: string;
}

function checkSegment(name: string, value: string): string {
  if (!SEGMENT.test(value)) {
    throw new RangeError(`cache key ${name} must match ${SEGMENT}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export class CacheKeys {
  readonly namespace: string;
  readonly schemaVersion: number;
  readonly clusterMode: boolean;
  /** `app:v1:` — every key of this application starts with it. */
  readonly prefix: string;
  /** Start of every tag-set key; purges test thousands of keys against it. */
  private readonly tagPrefix: string;
  /** Globs of the keys that are not cached values (tag sets, marks, the clock, version clocks, locks). */
  readonly internalKeyShapes: readonly InternalKeyShape[];

  constructor(options: CacheKeysOptions = {}) {
    this.namespace = checkSegment('namespace', options.namespace ?? 'app');
    this.schemaVersion = options.schemaVersion ?? 1;
    if (!Number.isInteger(this.schemaVersion) || this.schemaVersion < 1) {
      throw new RangeError(`cache key schemaVersion must be a positive integer, got ${options.schemaVersion}`);
    }
    this.clusterMode = options.clusterMode ?? false;
    this.prefix = `${this.namespace}:v${this.schemaVersion}:`;
    this.tagPrefix = this.prefix + (this.clusterMode ? '{tag:' : 'tag:');
    // Every builder below that returns something other than a cached value has its shape here;
    // test/lambda/runtime/keys.test.ts checks each builder's output against them.
    const hashTag = (identity: string): string => this.prefix + this.tag(identity);
    this.internalKeyShapes = [
      { kind: InternalKeyKind.TAG_SET, pattern: hashTag('tag:*') },
      { kind: InternalKeyKind.TAG_MARK, pattern: this.clusterMode ? `${hashTag('tag:*')}:mark` : `${this.prefix}tag-mark:*` },
      { kind: InternalKeyKind.TAG_CLOCK, pattern: hashTag('tag-clock') },
      { kind: InternalKeyKind.VERSION_CLOCK, pattern: `${hashTag('user:*')}:profile-version` },
      { kind: InternalKeyKind.LOCK, pattern: `${this.prefix}*${LOCK_SUFFIX}` },
    ];
  }

  /**
   * `app:v1:<resource>:<part>:<part>…` — one answer of a declared resource (lambda/runtime/resources),
   * its parts being its path parameters then its query parameters in name order (`_` when absent).
   * The whole identity is the hash tag in cluster mode, so the value, its lock and its tombstone share a slot.
   */
  resource(name: string, parts: readonly string[]): string {
    const identity = [checkSegment('resource', name), ...parts.map((part) => checkSegment('key part', part))].join(':');
    return this.prefix + this.tag(identity);
  }

  /** `app:v1:tag:<tag>` — the set of keys (and their CDN paths) carrying `tag`, emptied by `invalidateTag`. */
  tagSet(tag: string): string {
    if (!CACHE_TAG_PATTERN.test(tag)) throw new RangeError(`cache tag must match ${CACHE_TAG_PATTERN}, got ${JSON.stringify(tag)}`);
    return this.prefix + this.tag(`tag:${tag}`);
  }

  /**
   * `app:v1:tag-mark:<tag>` (`app:v1:{tag:<tag>}:mark` in cluster mode, the slot of its tag set) — the
   * invalidation clock's value at the tag's last invalidation (cache/tag-index.ts).
   */
  tagMark(tag: string): string {
    const set = this.tagSet(tag);
    return this.clusterMode ? `${set}:mark` : `${this.prefix}tag-mark:${tag}`;
  }

  /** `app:v1:tag-clock` — the app's one invalidation clock, ticked by every tag invalidation. */
  tagClock(): string {
    return this.prefix + this.tag('tag-clock');
  }

  /** `app:v1:product:42`, the key `resource('product', [id])` spells; the benchmarks and cache-level tests use it by the hundred. */
  product(id: number | string): string {
    return this.entity('product', id);
  }

  /** `app:v1:user:42:profile` — the shop's editable profile: its write-behind sequences writes on this key's lock. */
  userProfile(id: number | string): string {
    return this.entity('user', id, 'profile');
  }

  /** `app:v1:user:42:profile-version` — the write-behind version clock of a user (same slot as the profile). */
  profileVersion(id: number | string): string {
    return this.entity('user', id, 'profile-version');
  }

  /**
   * A `SCAN MATCH` pattern for every key of the declared resource `name` (with at least one key part):
   * `app:v1:<name>:*`, `app:v1:{<name>:*` in cluster mode, where the identity is the hash tag.
   */
  resourcePattern(name: string): string {
    return this.prefix + (this.clusterMode ? '{' : '') + `${checkSegment('resource', name)}:*`;
  }

  /** The coalescing lock of `key` (same slot as `key` in cluster mode). */
  lock(key: string): string {
    return key + LOCK_SUFFIX;
  }

  /** True when `key` belongs to this application's namespace and schema version. */
  owns(key: string): boolean {
    return key.startsWith(this.prefix);
  }

  /** The tag whose set `key` is ({@link tagSet} read backwards), or undefined when `key` is no tag set. */
  tagOf(key: string): string | undefined {
    if (!this.isTag(key)) return undefined;
    const tag = key.slice(this.tagPrefix.length, this.clusterMode ? -1 : undefined);
    return CACHE_TAG_PATTERN.test(tag) ? tag : undefined;
  }

  /** True when `key` is a tag set (a set of key names, {@link tagSet}) that a purge empties with its members. */
  isTag(key: string): boolean {
    // In cluster mode a tag's mark shares the tag set's hash tag; only the set itself ends with it.
    return key.startsWith(this.tagPrefix) && (!this.clusterMode || key.endsWith('}'));
  }

  private entity(entity: string, id: number | string, facet?: string): string {
    const key = this.prefix + this.tag(`${entity}:${checkSegment('id', String(id))}`);
    // Facets are constants of this class: they need no check.
    return facet === undefined ? key : `${key}:${facet}`;
  }

  private tag(identity: string): string {
    return this.clusterMode ? `{${identity}}` : identity;
  }
}
