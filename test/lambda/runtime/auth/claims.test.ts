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
