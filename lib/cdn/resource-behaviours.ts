import type { Resource } from '../../lambda/runtime/resources/resource';
import { Sharing } from '../../lambda/runtime/resources/resource';

/** What the edge reads from a resource declaration (`defineResource` in `cache-pyramid/runtime`). */
export type EdgeResource = Pick<Resource<never>, 'name' | 'path' | 'pathPattern' | 'queryNames' | 'sharing'>;

/** One CloudFront behaviour derived from the declared resources. */
export interface ResourceBehaviour {
  /** CloudFront path pattern, e.g. `/api/products/*`. */
  readonly pathPattern: string;
  /** Public: cached at the edge; per subject: never cached, every viewer header forwarded. */
  readonly sharing: Sharing;
  /** The cache key's query allow list (sorted; empty for none and for per-subject behaviours). */
  readonly queryNames: readonly string[];
  /** Names of the resources served through this behaviour. */
  readonly resourceNames: readonly string[];
}

/**
 * The behaviours of `resources`, most specific first (CloudFront takes the first pattern that
 * matches, and its `*` spans `/`): more literal characters first, then fewer wildcards, then by name,
 * so the order is stable whatever the order of the declarations.
 *
 * Resources resolving to one pattern share its behaviour when their sharing agrees (the cache key
 * allows the union of their query parameters; each resource still answers 400 to a parameter it does
 * not declare, and a 400 is never stored). Throws when they do not agree, and when a public pattern
 * placed before a per-subject resource's pattern would catch some of that resource's paths: its
 * answers would then be cached and shared at the edge.
 */
export function deriveResourceBehaviours(resources: readonly EdgeResource[]): ResourceBehaviour[] {
  const byPattern = new Map<string, { sharing: Sharing; queryNames: Set<string>; resources: EdgeResource[] }>();
  const names = new Set<string>();
  for (const resource of resources) {
    if (names.has(resource.name)) throw new Error(`\`resources\` declares the resource ${resource.name} twice`);
    names.add(resource.name);
    const existing = byPattern.get(resource.pathPattern);
    if (existing === undefined) {
      byPattern.set(resource.pathPattern, { sharing: resource.sharing, queryNames: new Set(resource.queryNames), resources: [resource] });
      continue;
    }
    if (existing.sharing !== resource.sharing) {
      const other = existing.resources[0];
      throw new Error(
        `\`resources\`: ${other.name} (${other.path}, ${other.sharing}) and ${resource.name} (${resource.path}, ${resource.sharing}) resolve to one CloudFront path pattern ${resource.pathPattern}, which cannot be both cached and uncached; give one of them a distinct literal path segment`,
      );
    }
    resource.queryNames.forEach((name) => existing.queryNames.add(name));
    existing.resources.push(resource);
  }
  const behaviours: ResourceBehaviour[] = [...byPattern.entries()]
    .map(([pathPattern, found]) => ({
      pathPattern,
      sharing: found.sharing,
      queryNames: found.sharing === Sharing.PUBLIC ? [...found.queryNames].sort() : [],
      resourceNames: found.resources.map((r) => r.name),
    }))
    .sort(bySpecificity);
  for (const behaviour of behaviours) {
    if (behaviour.sharing === Sharing.PUBLIC && behaviour.queryNames.length > 10) {
      throw new Error(
        `\`resources\`: the resources ${behaviour.resourceNames.join(', ')} share the path pattern ${behaviour.pathPattern} and together declare ${behaviour.queryNames.length} query parameters; a cache policy allows at most 10`,
      );
    }
  }
  behaviours.forEach((earlier, index) => {
    if (earlier.sharing !== Sharing.PUBLIC) return;
    for (const later of behaviours.slice(index + 1)) {
      if (later.sharing !== Sharing.PER_SUBJECT) continue;
      for (const resource of resources.filter((r) => later.resourceNames.includes(r.name))) {
        if (patternCatchesResourcePath(earlier.pathPattern, resource.path)) {
          throw new Error(
            `\`resources\`: the public pattern ${earlier.pathPattern} (${earlier.resourceNames.join(', ')}) comes first and also matches paths of the per-subject resource ${resource.name} (${resource.path}), whose answers would then be cached and shared at the edge; rename a literal segment so that the paths cannot collide`,
          );
        }
      }
    }
  });
  return behaviours;
}

function bySpecificity(a: { pathPattern: string }, b: { pathPattern: string }): number {
  const literals = (p: string): number => p.replace(/\*/g, '').length;
  const wildcards = (p: string): number => p.length - literals(p);
  return literals(b.pathPattern) - literals(a.pathPattern) || wildcards(a.pathPattern) - wildcards(b.pathPattern) || a.pathPattern.localeCompare(b.pathPattern);
}

/** A token of a pattern automaton: a literal character, any run (CloudFront `*`), one or a run of non-`/` characters (a `{param}`). */
type Token = { readonly literal: string } | 'any*' | 'segment' | 'segment*';

/**
 * Whether the CloudFront path pattern `pattern` (`*` matches any run of characters, `/` included)
 * matches at least one concrete path of the resource path template `path` (`{param}` is one or more
 * characters other than `/`): a breadth-first walk of the product of the two automata over an
 * alphabet of the literal characters of both plus `/` and one stand-in for every other character.
 */
export function patternCatchesResourcePath(pattern: string, path: string): boolean {
  const left: Token[] = [...pattern].map((c) => (c === '*' ? 'any*' : { literal: c }));
  const right: Token[] = path.split(/(\{[A-Za-z][A-Za-z0-9]*\})/).flatMap((part): Token[] =>
    part.startsWith('{') ? ['segment', 'segment*'] : [...part].map((c) => ({ literal: c })),
  );
  const other = '\u0000';
  const alphabet = new Set<string>(['/', other]);
  for (const token of [...left, ...right]) if (typeof token === 'object') alphabet.add(token.literal);

  const closure = (tokens: Token[], from: number): number[] => {
    const states = [from];
    for (let i = from; i < tokens.length && (tokens[i] === 'any*' || tokens[i] === 'segment*'); i++) states.push(i + 1);
    return states;
  };
  const step = (tokens: Token[], state: number, c: string): number[] => {
    const token = tokens[state];
    if (token === undefined) return [];
    if (token === 'any*') return [state];
    if (token === 'segment*') return c === '/' ? [] : [state];
    if (token === 'segment') return c === '/' ? [] : [state + 1];
    return token.literal === c ? [state + 1] : [];
  };
  const seen = new Set<string>();
  const queue: Array<[number, number]> = [];
  const visit = (i: number, j: number): void => {
    for (const a of closure(left, i)) {
      for (const b of closure(right, j)) {
        const id = `${a},${b}`;
        if (!seen.has(id)) {
          seen.add(id);
          queue.push([a, b]);
        }
      }
    }
  };
  visit(0, 0);
  while (queue.length > 0) {
    const [i, j] = queue.shift()!;
    if (i === left.length && j === right.length) return true;
    for (const c of alphabet) {
      for (const a of step(left, i, c)) for (const b of step(right, j, c)) visit(a, b);
    }
  }
  return false;
}
