import { scopesOf, subjectOf } from '../../../../lambda/runtime/auth/claims';
import { UnauthorizedError } from '../../../../lambda/runtime/errors';

function event(jwt?: { claims?: Record<string, string | number | boolean | string[]>; scopes?: string[] }) {
  return { requestContext: jwt ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: jwt.claims ?? {}, scopes: jwt.scopes ?? [] } } } : {} } as Parameters<typeof subjectOf>[0];
}

describe('subjectOf', () => {
  test('returns the verified sub claim', () => {
    expect(subjectOf(event({ claims: { sub: '42' } }))).toBe('42');
    expect(subjectOf(event({ claims: { sub: 42 } }))).toBe('42');
  });

  test.each([
    ['no authorizer context (a public route)', event()],
    ['no sub claim', event({ claims: { iss: 'x' } })],
    ['an empty sub', event({ claims: { sub: '' } })],
    ['a sub that is not a string', event({ claims: { sub: ['a'] } })],
  ])('throws UnauthorizedError for %s', (_name, e) => {
    expect(() => subjectOf(e)).toThrow(UnauthorizedError);
  });
});

describe('scopesOf', () => {
  test('prefers the scopes API Gateway filled in', () => {
    expect(scopesOf(event({ claims: { scope: 'a b' }, scopes: ['products:write'] }))).toEqual(['products:write']);
  });

  test('falls back to the space-separated scope claim, or an scp array', () => {
    expect(scopesOf(event({ claims: { scope: ' products:write  orders:read ' } }))).toEqual(['products:write', 'orders:read']);
    expect(scopesOf(event({ claims: { scp: ['a', 'b'] } }))).toEqual(['a', 'b']);
  });

  test('is empty without a token or scopes', () => {
    expect(scopesOf(event())).toEqual([]);
    expect(scopesOf(event({ claims: { sub: '1' } }))).toEqual([]);
  });
});

describe('claims of unusual shapes', () => {
  /** An authorizer context exactly as given, for shapes the `event` helper above normalises away. */
  const raw = (jwt: unknown) => ({ requestContext: { authorizer: { jwt } } }) as unknown as Parameters<typeof subjectOf>[0];

  test('the refusal says what is required', () => {
    expect(() => subjectOf(event({ claims: { sub: '' } }))).toThrow(new UnauthorizedError('a bearer token with a sub claim is required'));
    expect(() => subjectOf(raw({ scopes: [] }))).toThrow(UnauthorizedError);
    expect(() => subjectOf(raw(undefined))).toThrow(UnauthorizedError);
  });

  test('an scp array keeps only its strings, in order', () => {
    expect(scopesOf(raw({ claims: { scp: ['a', 7, 'b', null] } }))).toEqual(['a', 'b']);
  });

  test('scopes that API Gateway left empty or did not fill fall back to the claims', () => {
    expect(scopesOf(raw({ claims: { scope: 'x y' }, scopes: [] }))).toEqual(['x', 'y']);
    expect(scopesOf(raw({ claims: { scope: 'x' }, scopes: 'products:write' }))).toEqual(['x']);
    expect(scopesOf(raw({ claims: { scope: 'x' } }))).toEqual(['x']);
  });

  test('the scope claim wins over scp; an empty or non-string scope claim grants nothing of its own', () => {
    expect(scopesOf(raw({ claims: { scope: 'a', scp: ['b'] } }))).toEqual(['a']);
    expect(scopesOf(raw({ claims: { scope: '' } }))).toEqual([]);
    expect(scopesOf(raw({ claims: { scope: 5, scp: ['b'] } }))).toEqual(['b']);
    expect(scopesOf(raw({ claims: { scp: 'a b' } }))).toEqual([]);
  });

  test('a token without claims grants no scope', () => {
    expect(scopesOf(raw({ scopes: [] }))).toEqual([]);
    expect(scopesOf(raw(undefined))).toEqual([]);
  });
});
