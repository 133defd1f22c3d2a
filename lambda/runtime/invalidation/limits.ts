/**
 * How much one invalidation event may name: the purgers refuse (dead-letter) an event above any of
 * these, and the publisher splits a larger request into events that each stay within all of them
 * (split.ts). One definition for both sides, so the publisher never sends what the purger refuses.
 */
export const EVENT_LIMITS = {
  /** Exact keys per event. */
  keys: 10_000,
  /** `SCAN MATCH` patterns per event (each is a scan over every master). */
  keyPatterns: 100,
  /** CloudFront paths per event. */
  paths: 10_000,
  /** Tags per event (each is a tag-set read and a purge of its members). */
  tags: 1_000,
} as const;

/** The lists an invalidation names, in the order the publisher fills an event with them. */
export type InvalidationListField = keyof typeof EVENT_LIMITS;
export const INVALIDATION_LIST_FIELDS: readonly InvalidationListField[] = ['keys', 'keyPatterns', 'paths', 'tags'];

export const MAX_KEYS_PER_EVENT = EVENT_LIMITS.keys;
export const MAX_PATTERNS_PER_EVENT = EVENT_LIMITS.keyPatterns;
export const MAX_PATHS_PER_EVENT = EVENT_LIMITS.paths;
export const MAX_TAGS_PER_EVENT = EVENT_LIMITS.tags;
