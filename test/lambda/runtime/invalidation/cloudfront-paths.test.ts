import fc from 'fast-check';
import {
  CLOUDFRONT_MAX_FILES_IN_PROGRESS,
  CLOUDFRONT_MAX_PATH_LENGTH,
  CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS,
  DEFAULT_INVALIDATION_BUDGET,
  InvalidationBudget,
  checkInvalidationBudget,
  checkInvalidationPath,
  isWildcardPath,
  pathCovers,
  planInvalidation,
} from '../../../../lambda/runtime/invalidation/cloudfront-paths';

const segment = fc.constantFrom('api', 'products', 'users', 'p', 'static', 'img', 'a', 'b', 'c', 'd1', 'e-2', '42', '7');
const exactPath = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.option(fc.constantFrom('?page=1', '?page=2', '?c=x&page=3'), { nil: undefined }))
  .map(([segments, query]) => `/${segments.join('/')}${query ?? ''}`);
const wildcardPath = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 4 }), fc.constantFrom('/', ''))
  .map(([segments, tail]) => `/${segments.join('/')}${segments.length > 0 ? tail : ''}*`);
const anyPath = fc.oneof({ weight: 6, arbitrary: exactPath }, { weight: 1, arbitrary: wildcardPath });
const budget = fc.record({ maxFiles: fc.integer({ min: 1, max: 40 }), maxWildcards: fc.integer({ min: 1, max: 15 }) });

function count(paths: readonly string[]): { files: number; wildcards: number } {
  const wildcards = paths.filter(isWildcardPath).length;
  return { files: paths.length - wildcards, wildcards };
}

function withinBudgetAfterDedupe(paths: readonly string[], limits: InvalidationBudget): boolean {
  const distinct = [...new Set(paths)];
  const wildcards = distinct.filter(isWildcardPath);
  const survivors = distinct.filter((p) => !wildcards.some((w) => w !== p && pathCovers(w, p)));
  const { files, wildcards: w } = count(survivors);
  return files <= limits.maxFiles && w <= limits.maxWildcards;
}

describe('checkInvalidationPath', () => {
  it('accepts a plain path unchanged', () => {
    expect(checkInvalidationPath('/api/products/42')).toEqual({ valid: true, path: '/api/products/42' });
  });

  it('keeps a query string, since CloudFront invalidates query-string variants by their full path', () => {
    expect(checkInvalidationPath('/api/products?category=books&page=2')).toEqual({ valid: true, path: '/api/products?category=books&page=2' });
  });

  it('percent-encodes non-ASCII and RFC 1738 unsafe characters as UTF-8, leaving existing escapes alone', () => {
    expect(checkInvalidationPath('/files/naïve café.txt')).toEqual({ valid: true, path: '/files/na%C3%AFve%20caf%C3%A9.txt' });
    expect(checkInvalidationPath('/a%20b/[x]{y}|^`"<>\\')).toEqual({ valid: true, path: '/a%20b/%5Bx%5D%7By%7D%7C%5E%60%22%3C%3E%5C' });
    expect(checkInvalidationPath('/emoji/😀')).toEqual({ valid: true, path: '/emoji/%F0%9F%98%80' });
  });

  it("does not encode characters RFC 1738 allows, because CloudFront would then miss the cached object", () => {
    expect(checkInvalidationPath("/a/b-c_d.e!f'g(h)i,j;k:l@m&n=o+p$q")).toEqual({ valid: true, path: "/a/b-c_d.e!f'g(h)i,j;k:l@m&n=o+p$q" });
  });

  it.each([
    ['no leading slash', 'api/products', /begin with "\/"/],
    ['an empty string', '', /begin with "\/"/],
    ['a * inside a segment', '/a*b', /only as the last character/],
    ['a * before the last segment', '/*/x', /only as the last character/],
    ['a ~', '/home/~user', /"~"/],
    ['a fragment', '/page#section', /fragment/],
    ['a % that is no escape', '/bad%zzescape', /%XX escape/],
    ['a truncated escape', '/trailing%2', /%XX escape/],
    ['a control character', '/tab\there', /control characters/],
    ['a lone surrogate', '/lone\uD800surrogate', /lone surrogate/],
    ['4001 characters', '/' + 'a'.repeat(CLOUDFRONT_MAX_PATH_LENGTH), /at most 4000 characters/],
    ['a path that encoding makes too long', '/' + 'é'.repeat(1400), /at most 4000 characters once encoded, got 8401/],
  ])('refuses a path with %s, giving the reason', (_label, raw, reason) => {
    const check = checkInvalidationPath(raw);
    expect(check.valid).toBe(false);
    expect(check.valid === false && check.reason).toMatch(reason);
  });

  it('refuses values that are not strings', () => {
    expect(checkInvalidationPath(42)).toEqual({ valid: false, reason: 'a path must be a string, got number' });
    expect(checkInvalidationPath(null)).toEqual({ valid: false, reason: 'a path must be a string, got null' });
  });

  it('accepts the longest path CloudFront allows', () => {
    const longest = '/' + 'a'.repeat(CLOUDFRONT_MAX_PATH_LENGTH - 1);
    expect(checkInvalidationPath(longest)).toEqual({ valid: true, path: longest });
  });

  it('property: any string either passes as a path CloudFront accepts or is refused with a reason', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), exactPath, wildcardPath), (raw) => {
        const check = checkInvalidationPath(raw);
        if (!check.valid) {
          expect(check.reason.length).toBeGreaterThan(0);
          return;
        }
        expect(check.path.startsWith('/')).toBe(true);
        expect(check.path.length).toBeLessThanOrEqual(CLOUDFRONT_MAX_PATH_LENGTH);
        expect(check.path.slice(0, -1)).not.toContain('*');
        expect(check.path).toMatch(/^[\x21-\x7e]+$/);
        expect(check.path).not.toMatch(/[#~"<>{}|\\^[\]`]/);
        // Checking is idempotent: an accepted path is accepted again unchanged.
        expect(checkInvalidationPath(check.path)).toEqual(check);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('planInvalidation', () => {
  it('removes duplicates and paths a wildcard of the same batch covers, without adding wildcards', () => {
    const plan = planInvalidation(['/api/products/1', '/api/products/1', '/api/products/2', '/api/products*', '/static/app.js', '/static/*'], {
      maxFiles: 3000,
      maxWildcards: 15,
    });
    expect(plan.paths).toEqual(['/api/products*', '/static/*']);
    expect(plan.requested).toBe(6);
    expect(plan.distinct).toBe(5);
    expect(plan.coveredByWildcard).toBe(3);
    expect(plan.collapsed).toBe(0);
    expect(plan.addedWildcards).toEqual([]);
  });

  it('drops a wildcard that a wider wildcard covers', () => {
    expect(planInvalidation(['/api/*', '/api/products/*', '/api/products/1']).paths).toEqual(['/api/*']);
  });

  it('collapses to the narrowest directory that brings the files within budget', () => {
    const paths = [
      ...Array.from({ length: 10 }, (_, i) => `/api/products/${i}`),
      ...Array.from({ length: 3 }, (_, i) => `/api/users/${i}`),
      '/index.html',
    ];
    const plan = planInvalidation(paths, { maxFiles: 5, maxWildcards: 15 });
    expect(plan.paths).toEqual(['/api/products/*', '/api/users/0', '/api/users/1', '/api/users/2', '/index.html']);
    expect(plan.collapsed).toBe(10);
    expect(plan.addedWildcards).toEqual(['/api/products/*']);
  });

  it('spreads the excess over several narrow wildcards before widening one', () => {
    const paths = ['a', 'b', 'c'].flatMap((dir) => Array.from({ length: 4 }, (_, i) => `/assets/${dir}/${i}.png`));
    const plan = planInvalidation(paths, { maxFiles: 4, maxWildcards: 2 });
    expect(plan.paths).toEqual(['/assets/a/*', '/assets/b/*', '/assets/c/0.png', '/assets/c/1.png', '/assets/c/2.png', '/assets/c/3.png']);
  });

  it('groups query-string variants of one resource under "resource?*"', () => {
    const paths = Array.from({ length: 6 }, (_, i) => `/api/products?page=${i}`);
    expect(planInvalidation(paths, { maxFiles: 2, maxWildcards: 15 }).paths).toEqual(['/api/products?*']);
  });

  it('merges the closest wildcards when there are more than the wildcard budget', () => {
    const plan = planInvalidation(['/api/products/1*', '/api/products/2*', '/static/*'], { maxFiles: 10, maxWildcards: 2 });
    expect(plan.paths).toEqual(['/api/products/*', '/static/*']);
    expect(plan.addedWildcards).toEqual(['/api/products/*']);
  });

  it('frees a wildcard slot by merging when the files are over budget and no slot is left', () => {
    const plan = planInvalidation(['/x/a*', '/x/b*', '/y/1', '/y/2', '/y/3'], { maxFiles: 1, maxWildcards: 2 });
    expect(count(plan.paths)).toEqual({ files: 0, wildcards: 2 });
    expect(plan.paths).toEqual(['/x/*', '/y/*']);
  });

  it('gives the same plan for the same paths in any order', () => {
    fc.assert(
      fc.property(fc.array(anyPath, { maxLength: 80 }), budget, fc.integer(), (paths, limits, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(paths, { minLength: paths.length, maxLength: paths.length }), { numRuns: 1, seed })[0];
        expect(planInvalidation(shuffled, limits).paths).toEqual(planInvalidation(paths, limits).paths);
      }),
      { numRuns: 300 },
    );
  });

  it('property: no valid path is lost — every input path is covered by the plan', () => {
    fc.assert(
      fc.property(fc.array(anyPath, { maxLength: 120 }), budget, (paths, limits) => {
        const plan = planInvalidation(paths, limits);
        for (const path of paths) {
          expect(plan.paths.some((p) => pathCovers(p, path))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: limits are never exceeded and every planned path is one CloudFront accepts', () => {
    fc.assert(
      fc.property(fc.array(anyPath, { maxLength: 120 }), budget, (paths, limits) => {
        const plan = planInvalidation(paths, limits);
        const { files, wildcards } = count(plan.paths);
        expect(files).toBeLessThanOrEqual(limits.maxFiles);
        expect(wildcards).toBeLessThanOrEqual(limits.maxWildcards);
        expect(new Set(plan.paths).size).toBe(plan.paths.length);
        for (const path of plan.paths) expect(checkInvalidationPath(path)).toEqual({ valid: true, path });
      }),
      { numRuns: 500 },
    );
  });

  it('property: wildcards appear only when needed — a batch within budget gets no new wildcard', () => {
    fc.assert(
      fc.property(fc.array(anyPath, { maxLength: 60 }), budget, (paths, limits) => {
        const plan = planInvalidation(paths, limits);
        if (withinBudgetAfterDedupe(paths, limits)) {
          expect(plan.addedWildcards).toEqual([]);
          expect(plan.collapsed).toBe(0);
          for (const path of plan.paths) expect(paths).toContain(path);
        } else {
          expect(plan.addedWildcards.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: the plan is never larger than the deduplicated input', () => {
    fc.assert(
      fc.property(fc.array(anyPath, { maxLength: 120 }), budget, (paths, limits) => {
        expect(planInvalidation(paths, limits).paths.length).toBeLessThanOrEqual(new Set(paths).size);
      }),
      { numRuns: 300 },
    );
  });

  it('plans 3000+ paths within the real CloudFront budget', () => {
    const paths = Array.from({ length: 5000 }, (_, i) => `/api/products/${i}`).concat(['/index.html']);
    const plan = planInvalidation(paths);
    expect(plan.paths).toEqual(['/api/products/*', '/index.html']);
  });

  it('rejects a budget outside CloudFront limits', () => {
    expect(() => planInvalidation(['/a'], { maxFiles: 3001, maxWildcards: 15 })).toThrow(/maxFiles must be an integer between 1 and 3000, got 3001/);
    expect(() => planInvalidation(['/a'], { maxFiles: 10, maxWildcards: 0 })).toThrow(/maxWildcards must be an integer between 1 and 15, got 0/);
  });
});

describe('CloudFront limits', () => {
  test('are the documented ones', () => {
    expect(CLOUDFRONT_MAX_PATH_LENGTH).toBe(4000);
    expect(CLOUDFRONT_MAX_FILES_IN_PROGRESS).toBe(3000);
    expect(CLOUDFRONT_MAX_WILDCARDS_IN_PROGRESS).toBe(15);
    expect(DEFAULT_INVALIDATION_BUDGET).toEqual({ maxFiles: 3000, maxWildcards: 15 });
  });
});

describe('checkInvalidationPath at the edges', () => {
  test.each([
    ['DEL (0x7f)', '/a\x7fb'],
    ['the last C0 control (0x1f)', '/a\x1fb'],
    ['NUL', '/a\x00b'],
  ])('refuses %s as a control character', (_label, raw) => {
    expect(checkInvalidationPath(raw)).toEqual({ valid: false, reason: 'a path must not contain control characters' });
  });

  test('encodes a space (0x20, the first character that is no control) and keeps the last printable ASCII', () => {
    expect(checkInvalidationPath('/a b')).toEqual({ valid: true, path: '/a%20b' });
    expect(checkInvalidationPath('/a}b')).toEqual({ valid: true, path: '/a%7Db' });
    expect(checkInvalidationPath('/\x80')).toEqual({ valid: true, path: '/%C2%80' });
  });

  test.each([
    ['"/"', '/', { valid: true, path: '/' }],
    ['"/*"', '/*', { valid: true, path: '/*' }],
    ['a trailing lone high surrogate', '/a\uD800', { valid: false, reason: 'a path must be valid Unicode (it holds a lone surrogate)' }],
    ['a lone low surrogate', '/a\uDC00b', { valid: false, reason: 'a path must be valid Unicode (it holds a lone surrogate)' }],
    ['a surrogate pair', '/\uD83D\uDE00', { valid: true, path: '/%F0%9F%98%80' }],
    ['a % at the very end', '/a%', { valid: false, reason: 'a "%" must start a %XX escape (two hex digits)' }],
    ['a lower-case escape', '/a%2fb', { valid: true, path: '/a%2fb' }],
    ['an upper-case escape', '/a%2Fb%C3%A9', { valid: true, path: '/a%2Fb%C3%A9' }],
    ['a literal ~', '/~', { valid: false, reason: 'CloudFront does not support "~" in invalidation paths, encoded or not' }],
    ['a #', '/a#b', { valid: false, reason: 'a path must not contain "#": a fragment never reaches CloudFront' }],
    ['a * in the middle', '/a*/b', { valid: false, reason: 'a "*" wildcard is allowed only as the last character (elsewhere CloudFront matches it literally)' }],
    ['no leading slash', 'a/b', { valid: false, reason: 'a path must begin with "/"' }],
    ['an undefined value', undefined, { valid: false, reason: 'a path must be a string, got undefined' }],
  ])('%s', (_label, raw, expected) => {
    expect(checkInvalidationPath(raw)).toEqual(expected);
  });

  test('4000 characters once encoded pass, 4001 do not, with the length in the reason', () => {
    const encodedTo4000 = '/' + 'é'.repeat(666) + 'a'.repeat(3);
    expect(checkInvalidationPath(encodedTo4000)).toEqual({ valid: true, path: '/' + '%C3%A9'.repeat(666) + 'aaa' });
    expect(checkInvalidationPath(encodedTo4000 + 'a')).toEqual({ valid: false, reason: 'a path must be at most 4000 characters once encoded, got 4001' });
  });
});

describe('pathCovers (the oracle of the coverage property)', () => {
  test.each([
    ['/a/b', '/a/b', true],
    ['/a/b', '/a/bc', false],
    ['/a/b', '/a/b*', false],
    ['/a/b', '/a', false],
    ['/a/*', '/a/b', true],
    ['/a/*', '/a/', true],
    ['/a/*', '/a', false],
    ['/a*', '/a', true],
    ['/a*', '/ab/c', true],
    ['/a*', '/b', false],
    ['/a/*', '/a/b/*', true],
    ['/a/*', '/a/*', true],
    ['/a/b*', '/a/*', false],
    ['/a/*', '/a*', false],
    ['/*', '/anything?q=1', true],
    ['/*', '/*', true],
    ['/api/products*', '/api/product*', false],
  ])('%s covers %s: %p', (covering, path, expected) => {
    expect(pathCovers(covering, path)).toBe(expected);
  });

  test('isWildcardPath looks at the last character only', () => {
    expect(isWildcardPath('/a*')).toBe(true);
    expect(isWildcardPath('/*')).toBe(true);
    expect(isWildcardPath('/a')).toBe(false);
    expect(isWildcardPath('*/a')).toBe(false);
  });
});

describe('invalidation budgets', () => {
  test.each([
    [{ maxFiles: 1, maxWildcards: 1 }],
    [{ maxFiles: 3000, maxWildcards: 15 }],
  ])('accepts the bounds %j', (limits) => {
    expect(checkInvalidationBudget(limits)).toBe(limits);
  });

  test.each([
    [{ maxFiles: 0, maxWildcards: 15 }, 'maxFiles must be an integer between 1 and 3000, got 0'],
    [{ maxFiles: 3001, maxWildcards: 15 }, 'maxFiles must be an integer between 1 and 3000, got 3001'],
    [{ maxFiles: 1.5, maxWildcards: 15 }, 'maxFiles must be an integer between 1 and 3000, got 1.5'],
    [{ maxFiles: 10, maxWildcards: 0 }, 'maxWildcards must be an integer between 1 and 15, got 0'],
    [{ maxFiles: 10, maxWildcards: 16 }, 'maxWildcards must be an integer between 1 and 15, got 16'],
    [{ maxFiles: 10, maxWildcards: 2.5 }, 'maxWildcards must be an integer between 1 and 15, got 2.5'],
  ])('refuses %j, naming the field', (limits, message) => {
    expect(() => checkInvalidationBudget(limits)).toThrow(new RangeError(message));
    expect(() => planInvalidation(['/a'], limits)).toThrow(new RangeError(message));
  });
});

describe('planInvalidation edges', () => {
  test('an exact path equal to a wildcard prefix is covered by that wildcard', () => {
    const plan = planInvalidation(['/api/products', '/api/products*', '/api/productz']);
    expect(plan.paths).toEqual(['/api/products*', '/api/productz']);
    expect(plan.coveredByWildcard).toBe(1);
  });

  test('a file sorting before every wildcard, or between two, stays', () => {
    expect(planInvalidation(['/a', '/b/*', '/c', '/d/*', '/e']).paths).toEqual(['/a', '/b/*', '/c', '/d/*', '/e']);
    expect(planInvalidation(['/b/1', '/b/*', '/c/x', '/c*', '/d']).paths).toEqual(['/b/*', '/c*', '/d']);
  });

  test('counts what it did: requested, distinct, covered, collapsed, added', () => {
    const plan = planInvalidation(['/x/1', '/x/2', '/x/2', '/x/3', '/y/*', '/y/1'], { maxFiles: 1, maxWildcards: 15 });
    expect(plan).toEqual({
      paths: ['/x/*', '/y/*'],
      requested: 6,
      distinct: 5,
      coveredByWildcard: 1,
      collapsed: 3,
      addedWildcards: ['/x/*'],
    });
  });

  test('a batch exactly at both budgets is sent as it is', () => {
    const paths = ['/a/*', '/b/*', '/c/1', '/c/2'];
    const plan = planInvalidation(paths, { maxFiles: 2, maxWildcards: 2 });
    expect(plan.paths).toEqual(paths);
    expect(plan.addedWildcards).toEqual([]);
  });

  test('files one over budget with every wildcard slot taken: the closest wildcards merge to free one', () => {
    const plan = planInvalidation(['/a/1*', '/a/2*', '/c/1', '/c/2', '/c/3'], { maxFiles: 2, maxWildcards: 2 });
    expect(plan.paths).toEqual(['/a/*', '/c/*']);
  });

  test('wildcards sharing nothing but "/" merge into "/*"', () => {
    expect(planInvalidation(['/a*', '/b*'], { maxFiles: 5, maxWildcards: 1 }).paths).toEqual(['/*']);
  });

  test('the closest pair is the one with the longest common prefix, wherever it sits', () => {
    const plan = planInvalidation(['/a/1*', '/b/x/1*', '/b/x/2*', '/c*'], { maxFiles: 5, maxWildcards: 3 });
    expect(plan.paths).toEqual(['/a/1*', '/b/x/*', '/c*']);
    const first = planInvalidation(['/b/x/1*', '/b/x/2*', '/c/1*', '/d*'], { maxFiles: 5, maxWildcards: 3 });
    expect(first.paths).toEqual(['/b/x/*', '/c/1*', '/d*']);
  });

  test('between pairs sharing equally long prefixes, merges the first in path order', () => {
    const plan = planInvalidation(['/b/2*', '/b/1*', '/a/2*', '/a/1*'], { maxFiles: 5, maxWildcards: 3 });
    expect(plan.paths).toEqual(['/a/*', '/b/1*', '/b/2*']);
  });

  test('takes the largest groups first, so one narrow wildcard does instead of a wide one', () => {
    const paths = ['/d/a/1', '/d/a/2', '/d/b/1', '/d/b/2', '/d/b/3', '/d/b/4', '/d/b/5'];
    expect(planInvalidation(paths, { maxFiles: 3, maxWildcards: 1 }).paths).toEqual(['/d/a/1', '/d/a/2', '/d/b/*']);
  });

  test('between groups of one size, takes them in path order', () => {
    const paths = ['/d/b/1', '/d/b/2', '/d/b/3', '/d/a/1', '/d/a/2', '/d/a/3'];
    expect(planInvalidation(paths, { maxFiles: 3, maxWildcards: 1 }).paths).toEqual(['/d/a/*', '/d/b/1', '/d/b/2', '/d/b/3']);
  });

  test('takes as many groups as the excess needs and no more', () => {
    const paths = ['/d/a/1', '/d/a/2', '/d/a/3', '/d/b/1', '/d/b/2', '/d/c/1'];
    expect(planInvalidation(paths, { maxFiles: 3, maxWildcards: 15 }).paths).toEqual(['/d/a/*', '/d/b/1', '/d/b/2', '/d/c/1']);
    expect(planInvalidation(paths, { maxFiles: 2, maxWildcards: 15 }).paths).toEqual(['/d/a/*', '/d/b/*', '/d/c/1']);
  });

  test('query-string variants and directories are both grouping levels, the deepest first', () => {
    const paths = ['/p?x=1', '/p?x=2', '/p?x=3', '/q'];
    expect(planInvalidation(paths, { maxFiles: 1, maxWildcards: 15 }).paths).toEqual(['/p?*', '/q']);
  });

  test('over budget with paths near 4000 characters, every wildcard still fits CloudFront', () => {
    // The last "/" at index 3998: its wildcard is exactly 4000 characters long, the limit.
    const deep = '/' + 'a'.repeat(3997);
    const atLimit = planInvalidation([`${deep}/x`, `${deep}/y`], { maxFiles: 1, maxWildcards: 15 });
    expect(atLimit.paths).toEqual([`${deep}/*`]);
    expect(atLimit.paths[0]).toHaveLength(CLOUDFRONT_MAX_PATH_LENGTH);
    // A "/" at index 3999 would give a 4001-character wildcard: the next level up is used instead.
    const tooDeep = ['/' + 'b'.repeat(3998) + '/', '/' + 'b'.repeat(3997) + 'c/'];
    const over = planInvalidation(tooDeep, { maxFiles: 1, maxWildcards: 15 });
    expect(over.paths).toEqual(['/*']);
    for (const path of [...atLimit.paths, ...over.paths]) expect(checkInvalidationPath(path)).toEqual({ valid: true, path });
  });
});
