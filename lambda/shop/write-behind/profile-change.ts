/**
 * The write-behind message: one accepted `PATCH /api/users/{id}/profile`, as it travels through the
 * SQS FIFO queue to the flusher. The same validation guards the HTTP body (→ 400 naming the field)
 * and the queued record (→ dead-letter with the reason), so nothing the API would refuse can be
 * written by the flusher and nothing the API accepted is refused later.
 */
import { checkStorableText, ValidationError } from 'cache-pyramid/runtime';

/** The editable profile fields; each PATCH carries at least one of them. */
export interface ProfileFields {
  /** 1–100 characters, not blank, no control characters. */
  readonly displayName?: string;
  /** 0–2000 characters. */
  readonly bio?: string;
  /** An `https://` URL of at most 2048 characters, or null to remove the avatar. */
  readonly avatarUrl?: string | null;
}

/** The editable profile field names, in the order they are reported. */
export const PROFILE_FIELD_NAMES = ['displayName', 'bio', 'avatarUrl'] as const;

export const PROFILE_LIMITS = {
  displayNameMaxChars: 100,
  bioMaxChars: 2000,
  avatarUrlMaxChars: 2048,
} as const;

/**
 * One profile change. `version` orders the changes of one user (see `version-clock.ts`): the
 * flusher applies a change only over an older `users.profile_version`, so a duplicate or a late
 * older change never overwrites a newer one.
 */
export interface ProfileChange {
  readonly userId: number;
  /** A UUID chosen when the change is accepted; the SQS deduplication id. */
  readonly changeId: string;
  /** Positive, unique and increasing per user. */
  readonly version: number;
  readonly fields: ProfileFields;
  /** ISO 8601 instant at which the API accepted the change. */
  readonly requestedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `text` holds a C0 control character or DEL (tabs and new lines included). */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Length in code points, so an emoji counts as one character as users expect. */
function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** A user id (or any bigint key the API exposes): a positive integer JavaScript holds exactly. */
export function checkId(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `${field} must be an integer between 1 and ${Number.MAX_SAFE_INTEGER}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The fields of a profile patch, or a ValidationError naming the first offending field. Unknown
 * fields are refused rather than ignored, so a client typo never looks like a successful save.
 */
export function validateProfileFields(input: unknown, prefix?: string): ProfileFields {
  const objectName = prefix ?? 'body';
  const name = (field: string): string => (prefix ? `${prefix}.${field}` : field);
  if (!isPlainObject(input)) throw new ValidationError(objectName, `${objectName} must be a JSON object`);
  const known = new Set<string>(PROFILE_FIELD_NAMES);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new ValidationError(name(key), `unknown field ${JSON.stringify(key)}; allowed: ${PROFILE_FIELD_NAMES.join(', ')}`);
    }
  }
  const fields: { displayName?: string; bio?: string; avatarUrl?: string | null } = {};
  if ('displayName' in input) fields.displayName = checkDisplayName(name('displayName'), input.displayName);
  if ('bio' in input) fields.bio = checkBio(name('bio'), input.bio);
  if ('avatarUrl' in input) fields.avatarUrl = checkAvatarUrl(name('avatarUrl'), input.avatarUrl);
  if (Object.keys(fields).length === 0) {
    throw new ValidationError(objectName, `${objectName} must set at least one of ${PROFILE_FIELD_NAMES.join(', ')}`);
  }
  return fields;
}

function checkDisplayName(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be a string, got ${typeName(value)}`);
  if (value.trim() === '') throw new ValidationError(field, `${field} must not be blank`);
  if (charCount(value) > PROFILE_LIMITS.displayNameMaxChars) {
    throw new ValidationError(field, `${field} must be at most ${PROFILE_LIMITS.displayNameMaxChars} characters, got ${charCount(value)}`);
  }
  if (hasControlCharacters(value)) throw new ValidationError(field, `${field} must not contain control characters`);
  return checkStorableText(field, value);
}

function checkBio(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be a string, got ${typeName(value)}`);
  if (charCount(value) > PROFILE_LIMITS.bioMaxChars) {
    throw new ValidationError(field, `${field} must be at most ${PROFILE_LIMITS.bioMaxChars} characters, got ${charCount(value)}`);
  }
  return checkStorableText(field, value);
}

function checkAvatarUrl(field: string, value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be a string or null, got ${typeName(value)}`);
  if (value.length > PROFILE_LIMITS.avatarUrlMaxChars) {
    throw new ValidationError(field, `${field} must be at most ${PROFILE_LIMITS.avatarUrlMaxChars} characters, got ${value.length}`);
  }
  // URL parsing would percent-encode a lone surrogate and accept it, but the raw string is what is stored.
  checkStorableText(field, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `${field} must be an absolute https:// URL`);
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') {
    throw new ValidationError(field, `${field} must be an https:// URL without credentials`);
  }
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Parses a queued message body. Throws a ValidationError naming the offending field when the body
 * is not a well-formed change; the flusher dead-letters such a record with that reason.
 */
export function parseProfileChange(body: string): ProfileChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new ValidationError('body', `message body is not JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ValidationError('body', 'message body must be a JSON object');
  const allowed = new Set(['userId', 'changeId', 'version', 'fields', 'requestedAt']);
  for (const name of Object.keys(parsed)) {
    if (!allowed.has(name)) throw new ValidationError(name, `unknown field ${JSON.stringify(name)} in a profile change`);
  }
  const userId = checkId('userId', parsed.userId);
  const version = checkId('version', parsed.version);
  if (typeof parsed.changeId !== 'string' || !UUID.test(parsed.changeId)) {
    throw new ValidationError('changeId', `changeId must be a lower-case UUID, got ${JSON.stringify(parsed.changeId)}`);
  }
  if (typeof parsed.requestedAt !== 'string' || !ISO_INSTANT.test(parsed.requestedAt) || Number.isNaN(Date.parse(parsed.requestedAt))) {
    throw new ValidationError('requestedAt', `requestedAt must be an ISO 8601 UTC instant, got ${JSON.stringify(parsed.requestedAt)}`);
  }
  const fields = validateProfileFields(parsed.fields, 'fields');
  return { userId, changeId: parsed.changeId, version, fields, requestedAt: parsed.requestedAt };
}

/** The SQS FIFO message group of a user's changes: one group per user keeps them in order. */
export function profileMessageGroupId(userId: number): string {
  return `user-${userId}`;
}

export function serializeProfileChange(change: ProfileChange): string {
  return JSON.stringify({
    userId: change.userId,
    changeId: change.changeId,
    version: change.version,
    fields: change.fields,
    requestedAt: change.requestedAt,
  });
}
