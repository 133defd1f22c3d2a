import { Cacheability, cacheControlFor, carriesCredentials, publicCacheControl, remainingFreshnessSeconds } from '../../../../lambda/runtime/http/cache-control';

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
