import {
  Cacheability,
  DEFAULT_STALE_WINDOWS,
  NO_STORE,
  PRIVATE_CACHE_CONTROL,
  PUBLIC_VARY,
  cacheControlFor,
  carriesCredentials,
  publicCacheControl,
  remainingFreshnessSeconds,
} from '../../../../lambda/runtime/http/cache-control';

describe('Cache-Control per DESIGN.md', () => {
  test('a public entity may be shared, with stale windows', () => {
    expect(cacheControlFor(Cacheability.PUBLIC, 300)).toBe('public, max-age=300, stale-while-revalidate=60, stale-if-error=86400');
    expect(publicCacheControl(10, { staleWhileRevalidateSeconds: 5, staleIfErrorSeconds: 0 })).toBe('public, max-age=10, stale-while-revalidate=5, stale-if-error=0');
  });

  test('an answer to a request with credentials is private and revalidated; a secret is never stored', () => {
    expect(cacheControlFor(Cacheability.PRIVATE, 3600)).toBe('private, max-age=0, no-cache');
    expect(cacheControlFor(Cacheability.SECRET, 3600)).toBe('no-store');
  });

  test.each([-1, 1.5, NaN, 31_536_001])('rejects max-age %p', (value) => {
    expect(() => publicCacheControl(value)).toThrow(/maxAgeSeconds must be an integer number of seconds between 0 and 31536000/);
  });
});

describe('remainingFreshnessSeconds', () => {
  test('is the TTL less the time already spent in the application cache, never negative', () => {
    expect(remainingFreshnessSeconds(300, 1_000_000, 1_000_000)).toBe(300);
    expect(remainingFreshnessSeconds(300, 1_000_000, 1_000_000 + 120_900)).toBe(180);
    expect(remainingFreshnessSeconds(300, 1_000_000, 1_000_000 + 301_000)).toBe(0);
    expect(remainingFreshnessSeconds(300, 1_000_000, 999_000)).toBe(300);
  });
});

describe('carriesCredentials', () => {
  test('an Authorization header or any cookie makes a request personalised', () => {
    expect(carriesCredentials({ authorization: 'Bearer x' }, undefined)).toBe(true);
    expect(carriesCredentials({ cookie: 'session=1' }, undefined)).toBe(true);
    expect(carriesCredentials({}, ['session=abc'])).toBe(true);
  });

  test('a request without them is anonymous', () => {
    expect(carriesCredentials({ accept: 'application/json', authorization: '' }, [])).toBe(false);
    expect(carriesCredentials(undefined, undefined)).toBe(false);
  });
});

describe('Cache-Control bounds and constants', () => {
  test('accepts 0 and one year (31536000 s), the bounds of every field', () => {
    expect(publicCacheControl(0, { staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 0 })).toBe('public, max-age=0, stale-while-revalidate=0, stale-if-error=0');
    expect(publicCacheControl(31_536_000, { staleWhileRevalidateSeconds: 31_536_000, staleIfErrorSeconds: 31_536_000 })).toBe(
      'public, max-age=31536000, stale-while-revalidate=31536000, stale-if-error=31536000',
    );
  });

  test.each([
    ['staleWhileRevalidateSeconds', { staleWhileRevalidateSeconds: 31_536_001, staleIfErrorSeconds: 0 }, 31_536_001],
    ['staleWhileRevalidateSeconds', { staleWhileRevalidateSeconds: -1, staleIfErrorSeconds: 0 }, -1],
    ['staleIfErrorSeconds', { staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 0.5 }, 0.5],
    ['staleIfErrorSeconds', { staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 31_536_001 }, 31_536_001],
  ])('rejects a bad %s, naming it and the value', (name, windows, value) => {
    expect(() => publicCacheControl(60, windows)).toThrow(new RangeError(`${name} must be an integer number of seconds between 0 and 31536000, got ${value}`));
    expect(() => cacheControlFor(Cacheability.PUBLIC, 60, windows)).toThrow(RangeError);
  });

  test('the public answer passes its stale windows through, defaults 60 s and one day', () => {
    expect(DEFAULT_STALE_WINDOWS).toEqual({ staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 86_400 });
    expect(cacheControlFor(Cacheability.PUBLIC, 5, { staleWhileRevalidateSeconds: 1, staleIfErrorSeconds: 2 })).toBe('public, max-age=5, stale-while-revalidate=1, stale-if-error=2');
    expect(publicCacheControl(7)).toBe('public, max-age=7, stale-while-revalidate=60, stale-if-error=86400');
  });

  test('private and secret answers ignore max-age and the stale windows', () => {
    expect(cacheControlFor(Cacheability.PRIVATE, -1, { staleWhileRevalidateSeconds: -1, staleIfErrorSeconds: -1 })).toBe(PRIVATE_CACHE_CONTROL);
    expect(cacheControlFor(Cacheability.SECRET, -1)).toBe(NO_STORE);
    expect(PRIVATE_CACHE_CONTROL).toBe('private, max-age=0, no-cache');
  });

  test('a shared cache varies on Accept-Encoding only', () => {
    expect(PUBLIC_VARY).toBe('Accept-Encoding');
  });

  test('remaining freshness counts whole seconds already spent, rounding the age down', () => {
    expect(remainingFreshnessSeconds(10, 0, 999)).toBe(10);
    expect(remainingFreshnessSeconds(10, 0, 1000)).toBe(9);
    expect(remainingFreshnessSeconds(10, 0, 10_000)).toBe(0);
    expect(remainingFreshnessSeconds(10, 0, 10_999)).toBe(0);
    expect(remainingFreshnessSeconds(10, 5_000, 0)).toBe(10);
  });

  test('a cookie header alone, or cookies alone, carry credentials', () => {
    expect(carriesCredentials(undefined, ['a=1'])).toBe(true);
    expect(carriesCredentials({ cookie: 'a=1' }, [])).toBe(true);
    expect(carriesCredentials({ cookie: '' }, [])).toBe(false);
    expect(carriesCredentials({ authorization: 'Basic eA==' }, [])).toBe(true);
  });
});
