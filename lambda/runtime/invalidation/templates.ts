/**
 * Templates that map an application's domain event (`ProductUpdated {id}`) to the cache keys and CDN
 * paths it invalidates. The same code checks them at synth time (the construct's `invalidateOn`) and
 * expands them at run time (the purgers, and the local publisher of `npm run dev`).
 *
 * Why the purgers expand them rather than an EventBridge input transformer: a transformer pastes raw
 * values into text. It cannot fan out an array (`{detail.ids}`), cannot percent-encode a value so that
 * `a/b` stays inside one path segment, cannot spell a key through `CacheKeys` (hash tags in cluster
 * mode), and when a field is missing it silently produces a wrong key. Here the mapping travels as a
 * constant next to the whole event, and a missing or malformed value sends the record to the DLQ with
 * the reason.
 *
 * Placeholders are `{detail.<field>[.<field>…]}`. In full key templates, braces around text with a
 * colon (a cluster hash tag such as `{product:{detail.id}}`) are literal.
 */
import { CACHE_TAG_PATTERN, CacheKeys } from '../keys';
import { UnprocessableEventError } from '../errors';
import type { Resource, ResourceParams } from '../resources/resource';
import { checkInvalidationPath, percentEncode } from './cloudfront-paths';

/** The `CacheKeys` builders a key template may name: a declared resource's key, or every key of one resource. */
export enum KeyBuilder {
  RESOURCE = 'resource',
  RESOURCE_PATTERN = 'resourcePattern',
}

/** The JSON form of a key template, as carried in the rule's target input. */
export type KeyTemplateSpec =
  | { readonly builder: KeyBuilder; readonly args: readonly string[] }
  | { readonly key: string }
  | { readonly pattern: string };

/** A declared resource's name and key parameters: all a key template needs of it. */
export interface KeyedResource {
  readonly name: string;
  /** Path parameters in path order (read from `path`), then `queryNames`. */
  readonly path: string;
  readonly queryNames: readonly string[];
}

const PATH_PARAM = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

function keyParamsOf(resource: KeyedResource): string[] {
  return [...[...resource.path.matchAll(PATH_PARAM)].map((m) => m[1]), ...resource.queryNames];
}

/** A cache key (or `SCAN` pattern) to purge when an event arrives, spelled through `CacheKeys`. */
export class KeyTemplate {
  /**
   * `CacheKeys.resource(name, parts)`: the key `Resource.key` builds, its parts being the resource's
   * path parameters then its query parameters in name order, e.g. `KeyTemplate.resource('product', ['{detail.id}'])`.
   * Prefer `resources` in a mapping, which derives the parts (and the CDN paths) from the declaration.
   */
  static resource(name: string, parts: readonly string[]): KeyTemplate {
    return new KeyTemplate({ builder: KeyBuilder.RESOURCE, args: [name, ...parts] });
  }

  /**
   * Every key of one declared resource, deleted by `SCAN` on every master (`CacheKeys.resourcePattern`).
   * Only for a resource with parameters: a resource without any has one key, `KeyTemplate.resource(name, [])`.
   */
  static resourcePattern(resource: KeyedResource): KeyTemplate {
    if (keyParamsOf(resource).length === 0) {
      throw new TemplateError('resourcePattern', `of resource ${resource.name}, which has no parameters: purge its one key with KeyTemplate.resource(${JSON.stringify(resource.name)}, [])`);
    }
    return new KeyTemplate({ builder: KeyBuilder.RESOURCE_PATTERN, args: [resource.name] });
  }

  /** A full key template, e.g. `app:v1:product:{detail.id}`; it must start with the app's key prefix. */
  static key(template: string): KeyTemplate {
    return new KeyTemplate({ key: template });
  }

  /** A full `SCAN MATCH` pattern template, e.g. `app:v1:products:list:{detail.category}:*`. */
  static pattern(template: string): KeyTemplate {
    return new KeyTemplate({ pattern: template });
  }

  private constructor(readonly spec: KeyTemplateSpec) {}
}

/** A declared resource whose answer an event changes, its parameters given as templates. */
export interface ResourceInvalidation {
  /** The declaration (`defineResource`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any value type: only the declaration's shape is read
  readonly resource: Resource<any>;
  /**
   * A template for each of its path and query parameters, e.g. `{ id: '{detail.id}' }`. Every query
   * parameter must be given: an event naming "every page of a category" is a tag's job (`tags`).
   */
  readonly params: Readonly<Record<string, string>>;
}

/** An app event wired to invalidation: which keys and paths each matching event purges. */
export interface InvalidationMapping {
  /** The event's `source`, e.g. `shop.catalog`. */
  readonly source: string;
  /** The event's `detail-type`, e.g. `ProductUpdated`. */
  readonly detailType: string;
  /**
   * Declared resources whose answer the event changes: each purges the resource's Redis key and its
   * CDN paths, both derived from the declaration. @default - none
   */
  readonly resources?: readonly ResourceInvalidation[];
  /** Tag templates, e.g. `category:{detail.category}`: every key (and recorded CDN path) carrying the tag is purged. @default - none */
  readonly tags?: readonly string[];
  /** Keys (typed `KeyTemplate`s, or full key template strings) to purge. @default - none */
  readonly keys?: readonly (KeyTemplate | KeyTemplateSpec | string)[];
  /** CloudFront path templates to invalidate, e.g. `/api/products/{detail.id}`. @default - none */
  readonly paths?: readonly string[];
  /** Why, for logs and DLQ records. @default - `<detailType> from <source>` */
  readonly reason?: string;
}

/** The checked mapping, as the purgers receive it. */
export interface InvalidationMappingSpec {
  readonly source: string;
  readonly detailType: string;
  readonly keys: readonly KeyTemplateSpec[];
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly reason: string;
}

/** A template that breaks a rule; `field` names the prop (`paths[1]`). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
  }
}

type Part = { readonly literal: string } | { readonly field: readonly string[]; readonly text: string };

const PLACEHOLDER_LIKE = /^[A-Za-z0-9_.-]*$/;
const PLACEHOLDER = /^detail(\.[A-Za-z0-9_-]+)+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9_.-]*$/;
/** A template fans out arrays; more keys or paths than this from one event is a mistake, not a purge. */
export const MAX_EXPANSIONS_PER_TEMPLATE = 1000;
const EVENT_NAME = /^[A-Za-z0-9_.:/-]{1,256}$/;

/** Splits `template` into literal text and `{detail.…}` placeholders; throws a {@link TemplateError} naming `field`. */
export function parseTemplate(field: string, template: string): Part[] {
  if (typeof template !== 'string') throw new TemplateError(field, `must be a string, got ${typeof template}`);
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{([^{}]*)\}/g)) {
    const inner = match[1];
    if (!PLACEHOLDER_LIKE.test(inner)) continue;
    if (!PLACEHOLDER.test(inner)) {
      throw new TemplateError(field, `has placeholder {${inner}}: placeholders must be {detail.<field>[.<field>…]} (in ${JSON.stringify(template)})`);
    }
    if (match.index > last) parts.push({ literal: template.slice(last, match.index) });
    parts.push({ field: inner.split('.'), text: match[0] });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  return parts;
}

function literalText(parts: readonly Part[], placeholder: string): string {
  return parts.map((p) => ('literal' in p ? p.literal : placeholder)).join('');
}

function hasPlaceholder(parts: readonly Part[]): boolean {
  return parts.some((p) => 'field' in p);
}

/** Checks a CloudFront path template at synth time. */
export function checkPathTemplate(field: string, template: string): string {
  const parts = parseTemplate(field, template);
  if (!template.startsWith('/')) throw new TemplateError(field, `must start with "/", got ${JSON.stringify(template)}`);
  const star = template.indexOf('*');
  if (star !== -1 && star !== template.length - 1) {
    throw new TemplateError(field, `may hold "*" only as its last character, got ${JSON.stringify(template)}`);
  }
  const sample = checkInvalidationPath(literalText(parts, 'x'));
  if (!sample.valid) throw new TemplateError(field, `is not a valid CloudFront path: ${sample.reason} (in ${JSON.stringify(template)})`);
  return template;
}

/** 2³ CDN paths per resource entry at most: beyond, a tag purges the lot in one go. */
const MAX_DEFAULTED_QUERY_PARAMS = 3;
const RESOURCE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const TAG_CHARS = /^[A-Za-z0-9_.:-]*$/;

/** Checks a tag template at synth time: tag characters around placeholders, not empty. */
export function checkTagTemplate(field: string, template: string): string {
  const parts = parseTemplate(field, template);
  const literal = literalText(parts, '');
  if (!TAG_CHARS.test(literal)) throw new TemplateError(field, `may hold only letters, digits, "_", ".", ":" and "-" around placeholders, got ${JSON.stringify(template)}`);
  if (literal === '' && !hasPlaceholder(parts)) throw new TemplateError(field, 'must not be empty');
  return template;
}

/** A resource entry as a key template and path templates, derived from its declaration. */
function resourceTemplates(field: string, entry: ResourceInvalidation): { key: KeyTemplateSpec; paths: readonly string[] } {
  const resource = entry?.resource;
  if (resource === null || typeof resource !== 'object' || typeof resource.name !== 'string' || typeof resource.cdnPaths !== 'function') {
    throw new TemplateError(`${field}.resource`, 'must be a declared resource (defineResource)');
  }
  // Only an absent params means "none": null is a mistake worth naming.
  const params = entry.params === undefined ? {} : entry.params;
  if (params === null || typeof params !== 'object') throw new TemplateError(`${field}.params`, `must be an object of templates, got ${JSON.stringify(params)}`);
  const names = keyParamsOf(resource);
  for (const name of Object.keys(params)) {
    if (!names.includes(name)) throw new TemplateError(`${field}.params.${name}`, `is not a parameter of resource ${resource.name} (it has ${names.length ? names.join(', ') : 'none'})`);
  }
  for (const name of names) {
    if (params[name] !== undefined) continue;
    if (resource.queryNames.includes(name)) {
      throw new TemplateError(
        `${field}.params.${name}`,
        `is missing: resource ${resource.name} is keyed on its query parameter ${name}, so an event must name its value; to purge every ${name} at once, tag the values (defineResource tags) and list the tag in the mapping's tags`,
      );
    }
    throw new TemplateError(`${field}.params.${name}`, `is missing: resource ${resource.name} needs its path parameter ${name}`);
  }
  const key = checkBuilderSpec(`${field}.params`, { builder: KeyBuilder.RESOURCE, args: [resource.name, ...names.map((name) => params[name])] });
  // A query parameter equal to its default is left out of the canonical URL, which a template cannot
  // know at synth time: each defaulted parameter adds the variant without it (a harmless extra path
  // when the value is another one).
  const query = resource.query ?? {};
  const defaulted = resource.queryNames.filter((name) => query[name].default !== undefined);
  if (defaulted.length > MAX_DEFAULTED_QUERY_PARAMS) {
    throw new TemplateError(
      `${field}.resource`,
      `${resource.name} has ${defaulted.length} query parameters with defaults, whose URLs with and without each are ${2 ** defaulted.length} paths per event; at most ${MAX_DEFAULTED_QUERY_PARAMS} are supported: tag the values and list the tag in the mapping's tags`,
    );
  }
  let variants: ResourceParams[] = [params];
  for (const name of defaulted) variants = variants.flatMap((v) => [v, { ...v, [name]: query[name].default }]);
  const paths = [...new Set(variants.flatMap((v) => resource.cdnPaths(v)))].map((path, i) => checkPathTemplate(`${field} path ${i + 1}`, path));
  return { key, paths };
}

function isKeyTemplateSpec(value: unknown): value is KeyTemplateSpec {
  if (value === null || typeof value !== 'object') return false;
  const spec = value as Record<string, unknown>;
  if (typeof spec.builder === 'string') return Array.isArray(spec.args) && spec.args.every((a) => typeof a === 'string');
  return typeof spec.key === 'string' || typeof spec.pattern === 'string';
}

/** Checks a builder spec: it spells its key through `CacheKeys`, so the app's prefix is not its concern. */
function checkBuilderSpec(field: string, spec: { readonly builder: KeyBuilder; readonly args: readonly string[] }): KeyTemplateSpec {
  if (!Object.values(KeyBuilder).includes(spec.builder)) throw new TemplateError(field, `names unknown builder ${JSON.stringify(spec.builder)}`);
  const [name, ...parts] = spec.args;
  if (name === undefined || !RESOURCE_NAME.test(name)) throw new TemplateError(field, `names resource ${JSON.stringify(name)}; a resource name must match ${RESOURCE_NAME}`);
  if (spec.builder === KeyBuilder.RESOURCE_PATTERN) {
    if (parts.length > 0) throw new TemplateError(field, `resourcePattern takes only the resource name, got ${spec.args.length} arguments`);
    return spec;
  }
  parts.forEach((arg, index) => {
    const i = index + 1;
    const parts = parseTemplate(`${field} argument ${i + 1}`, arg);
    const literal = literalText(parts, '');
    if (!SEGMENT_CHARS.test(literal)) {
      throw new TemplateError(field, `argument ${i + 1} may hold only letters, digits, "_", "." and "-" around placeholders, got ${JSON.stringify(arg)}`);
    }
    if (literal === '' && !hasPlaceholder(parts)) throw new TemplateError(field, `argument ${i + 1} must not be empty`);
  });
  return spec;
}

/** Checks a key template at synth time against the app's key prefix (`app:v1:`). */
export function checkKeyTemplate(field: string, template: KeyTemplate | KeyTemplateSpec | string, keyPrefix: string): KeyTemplateSpec {
  const spec = typeof template === 'string' ? { key: template } : template instanceof KeyTemplate ? template.spec : template;
  if (!isKeyTemplateSpec(spec)) throw new TemplateError(field, 'must be a KeyTemplate or a full key template string');
  if ('builder' in spec) return checkBuilderSpec(field, spec);
  const text = 'key' in spec ? spec.key : spec.pattern;
  const parts = parseTemplate(field, text);
  if (!text.startsWith(keyPrefix)) {
    throw new TemplateError(field, `must be within the app's key namespace: start with ${JSON.stringify(keyPrefix)}, got ${JSON.stringify(text)}`);
  }
  const literal = literalText(parts, '');
  if (/[<>\s]/.test(literal)) throw new TemplateError(field, `must not contain whitespace, "<" or ">", got ${JSON.stringify(text)}`);
  if ('key' in spec && /[*?[\]]/.test(literal)) {
    throw new TemplateError(field, `is a key, not a pattern: use KeyTemplate.pattern() for ${JSON.stringify(text)}`);
  }
  return spec;
}

/** Checks a whole mapping at synth time; errors name the prop (`keys[0]`, `paths[2]`). */
export function checkInvalidationMapping(mapping: InvalidationMapping, keyPrefix: string): InvalidationMappingSpec {
  if (typeof mapping.source !== 'string' || !EVENT_NAME.test(mapping.source)) throw new TemplateError('source', `must be 1-256 characters of letters, digits and "_.:/-", got ${JSON.stringify(mapping.source)}`);
  if (typeof mapping.detailType !== 'string' || !EVENT_NAME.test(mapping.detailType)) {
    throw new TemplateError('detailType', `must be 1-256 characters of letters, digits and "_.:/-", got ${JSON.stringify(mapping.detailType)}`);
  }
  const keys = (mapping.keys ?? []).map((key, i) => checkKeyTemplate(`keys[${i}]`, key, keyPrefix));
  const paths = (mapping.paths ?? []).map((path, i) => checkPathTemplate(`paths[${i}]`, path));
  const tags = (mapping.tags ?? []).map((tag, i) => checkTagTemplate(`tags[${i}]`, tag));
  (mapping.resources ?? []).forEach((entry, i) => {
    const derived = resourceTemplates(`resources[${i}]`, entry);
    keys.push(derived.key);
    paths.push(...derived.paths);
  });
  if (keys.length === 0 && paths.length === 0 && tags.length === 0) {
    throw new TemplateError('mapping', 'names no resources, tags, keys or paths: it would invalidate nothing');
  }
  const reason = mapping.reason ?? `${mapping.detailType} from ${mapping.source}`;
  if (reason.length > 256) throw new TemplateError('reason', `must be at most 256 characters, got ${reason.length}`);
  return { source: mapping.source, detailType: mapping.detailType, keys, paths, tags, reason };
}

function lookup(event: unknown, field: readonly string[]): unknown {
  let value: unknown = event;
  for (const name of field) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

function scalars(template: string, part: { field: readonly string[]; text: string }, event: unknown): string[] {
  const value = lookup(event, part.field);
  // An empty array maps to no value: the template expands to nothing for this event.
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => {
    if (typeof v === 'string' && v !== '') return v;
    if (Number.isFinite(v)) return String(v);
    const what = v === undefined ? 'missing' : v === '' ? 'an empty string' : `not a string or number (${v === null ? 'null' : typeof v})`;
    throw new UnprocessableEventError(`template ${JSON.stringify(template)}: ${part.field.join('.')} is ${what} in the event`);
  });
}

/**
 * Every expansion of `template` for `event`: each placeholder is replaced by its value (encoded by
 * `encode`), an array value fans out to one result per element.
 */
export function expandTemplate(template: string, event: unknown, encode: (value: string) => string): string[] {
  let results = [''];
  for (const part of parseTemplate('template', template)) {
    if ('literal' in part) {
      results = results.map((r) => r + part.literal);
      continue;
    }
    const values = scalars(template, part, event).map(encode);
    if (results.length * values.length > MAX_EXPANSIONS_PER_TEMPLATE) {
      throw new UnprocessableEventError(`template ${JSON.stringify(template)} expands to more than ${MAX_EXPANSIONS_PER_TEMPLATE} values for this event`);
    }
    results = results.flatMap((r) => values.map((v) => r + v));
  }
  return results;
}

// Space and the controls are below 0x21, which encodePathValue escapes by code.
const PATH_VALUE_RESERVED = new Set(['/', '?', '#', '%', '*', '"', '<', '>', '{', '}', '|', '\\', '^', '[', ']', '`']);

/**
 * Encodes a value substituted into a path so that it stays inside its segment: `/ ? # %` and `*` (which
 * would turn the path into a wildcard) are escaped along with what CloudFront wants escaped; the
 * characters RFC 1738 leaves alone stay as they are, as CloudFront requires.
 */
export function encodePathValue(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.charCodeAt(0);
    out += code < 0x21 || code > 0x7e || PATH_VALUE_RESERVED.has(char)
      ? percentEncode(char)
      : char;
  }
  return out;
}

function keyValue(value: string): string {
  // A value may not add structure to a full key (":", braces) nor turn it into a pattern.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new UnprocessableEventError(`key template value ${JSON.stringify(value)} must be 1-64 letters, digits, "_", "." or "-"`);
  }
  return value;
}

/** The CloudFront paths a mapped event invalidates (unchecked: the CDN purger checks each). */
export function expandPaths(mapping: InvalidationMappingSpec, event: unknown): string[] {
  return mapping.paths.flatMap((template) => expandTemplate(template, event, encodePathValue));
}

/** The keys, `SCAN` patterns and tags a mapped event purges, spelled by `cacheKeys`. */
export function expandKeys(mapping: InvalidationMappingSpec, event: unknown, cacheKeys: CacheKeys): { keys: string[]; patterns: string[]; tags: string[] } {
  const keys: string[] = [];
  const patterns: string[] = [];
  const tags = (mapping.tags ?? []).flatMap((template) => expandTemplate(template, event, keyValue));
  for (const tag of tags) {
    if (!CACHE_TAG_PATTERN.test(tag)) throw new UnprocessableEventError(`tag ${JSON.stringify(tag)} must match ${CACHE_TAG_PATTERN}`);
  }
  for (const spec of mapping.keys) {
    if ('key' in spec) {
      keys.push(...expandTemplate(spec.key, event, keyValue));
      continue;
    }
    if ('pattern' in spec) {
      patterns.push(...expandTemplate(spec.pattern, event, keyValue));
      continue;
    }
    const [name, ...parts] = spec.args;
    if (spec.builder === KeyBuilder.RESOURCE_PATTERN) {
      patterns.push(cacheKeys.resourcePattern(name));
      continue;
    }
    const argLists = parts.reduce<string[][]>(
      (lists, arg) => lists.flatMap((list) => expandTemplate(arg, event, keyValue).map((value) => [...list, value])),
      [[]],
    );
    if (argLists.length > MAX_EXPANSIONS_PER_TEMPLATE) {
      throw new UnprocessableEventError(`key template ${spec.builder}(${spec.args.join(', ')}) expands to more than ${MAX_EXPANSIONS_PER_TEMPLATE} keys`);
    }
    for (const args of argLists) keys.push(cacheKeys.resource(name, args));
  }
  return { keys, patterns, tags };
}
