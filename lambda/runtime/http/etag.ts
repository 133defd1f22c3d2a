/**
 * Strong entity tags over the exact body bytes, and `If-None-Match` evaluation (RFC 9110 §13.1.2).
 */
import { hash } from 'node:crypto';

/**
 * A strong ETag: the first 22 base64url characters (132 bits) of the body's SHA-256, quoted. The
 * one-shot `crypto.hash` avoids a Hash object per response on the hit path.
 */
export function strongETag(body: string | Uint8Array): string {
  return `"${hash('sha256', body, 'base64url').slice(0, 22)}"`;
}

/** One entity-tag of a list: optional `W/`, then a quoted string of etagc characters (commas allowed). */
const ENTITY_TAG = /^\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/;

/** The opaque tags of an `If-None-Match` list, `['*']` for the wildcard, or undefined when malformed. */
export function parseEntityTagList(header: string): string[] | undefined {
  if (header.trim() === '*') return ['*'];
  const tags: string[] = [];
  let rest = header;
  while (rest.trim() !== '') {
    const match = ENTITY_TAG.exec(rest);
    if (!match) return undefined;
    tags.push(match[2]);
    rest = rest.slice(match[0].length);
  }
  return tags.length > 0 ? tags : undefined;
}

/**
 * True when `If-None-Match` matches `etag` with the weak comparison the RFC prescribes for it:
 * `W/"x"` matches `"x"`, `*` matches any current representation. A malformed header matches
 * nothing, so the full response is sent.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = parseEntityTagList(header);
  if (!tags) return false;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  return tags.some((tag) => tag === '*' || tag === opaque);
}
