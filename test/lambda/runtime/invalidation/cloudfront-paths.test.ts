import fc from 'fast-check';
import {
  CLOUDFRONT_MAX_PATH_LENGTH,
  InvalidationBudget,
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
