import fc from 'fast-check';
import { ValidationError } from '../../../../lambda/runtime/errors';
import { checkId, hasControlCharacters, parseProfileChange, serializeProfileChange, validateProfileFields } from '../../../../lambda/shop/write-behind/profile-change';
import { change } from '../../runtime/write-behind/support';

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('validateProfileFields (the PATCH body)', () => {
  it('accepts any subset of the three fields, avatarUrl null included', () => {
    expect(validateProfileFields({ displayName: 'Ada Lovelace' })).toEqual({ displayName: 'Ada Lovelace' });
    expect(validateProfileFields({ bio: '', avatarUrl: null })).toEqual({ bio: '', avatarUrl: null });
    expect(validateProfileFields({ avatarUrl: 'https://img.example/a.png', bio: 'hi 😀' })).toEqual({ avatarUrl: 'https://img.example/a.png', bio: 'hi 😀' });
  });

  it.each([
    [['not', 'an', 'object'], 'body'],
    [null, 'body'],
    [{}, 'body'],
    [{ nickname: 'x' }, 'nickname'],
    [{ displayName: 'ok', isAdmin: true }, 'isAdmin'],
    [{ displayName: 42 }, 'displayName'],
    [{ displayName: '   ' }, 'displayName'],
    [{ displayName: 'x'.repeat(101) }, 'displayName'],
    [{ displayName: 'tab\tinside' }, 'displayName'],
    [{ bio: ['a'] }, 'bio'],
    [{ bio: 'x'.repeat(2001) }, 'bio'],
    [{ bio: 'nul\u0000' }, 'bio'],
    [{ avatarUrl: 7 }, 'avatarUrl'],
    [{ avatarUrl: 'http://img.example/a.png' }, 'avatarUrl'],
    [{ avatarUrl: 'javascript:alert(1)' }, 'avatarUrl'],
    [{ avatarUrl: 'https://user:pw@img.example/a.png' }, 'avatarUrl'],
    [{ avatarUrl: `https://img.example/${'a'.repeat(2048)}` }, 'avatarUrl'],
  ])('refuses body #%# naming its field', (body, field) => {
    expect(fieldOf(() => validateProfileFields(body))).toBe(field);
  });

  it('counts characters, not UTF-16 units: 100 emoji are a valid display name', () => {
    expect(validateProfileFields({ displayName: '😀'.repeat(100) }).displayName).toHaveLength(200);
  });
});

describe('checkId', () => {
  it.each([0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, '7', null])('refuses %p', (id) => {
    expect(() => checkId('id', id)).toThrow(ValidationError);
  });

  it('accepts 1 and MAX_SAFE_INTEGER', () => {
    expect(checkId('id', 1)).toBe(1);
    expect(checkId('id', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('parseProfileChange (the queued message)', () => {
  it('round-trips every valid change through its serialised form', () => {
    const fields = fc.record(
      { displayName: fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim() !== '' && !hasControlCharacters(s)), bio: fc.string({ maxLength: 2000 }).filter((s) => !s.includes('\u0000')), avatarUrl: fc.constantFrom(null, 'https://img.example/x.png') },
      { requiredKeys: [] },
    ).filter((f) => Object.keys(f).length > 0);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fields, (userId, version, f) => {
        const c = change(userId, version, f);
        expect(parseProfileChange(serializeProfileChange(c))).toEqual(c);
      }),
    );
  });

  it.each([
    ['{', 'body'],
    ['[]', 'body'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), extra: 1 }), 'extra'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), userId: '1' }), 'userId'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), version: 0 }), 'version'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), changeId: 'not-a-uuid' }), 'changeId'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), requestedAt: 'yesterday' }), 'requestedAt'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), fields: {} }), 'fields'],
    [JSON.stringify({ ...change(1, 1, { bio: 'x' }), fields: { bio: 5 } }), 'fields.bio'],
  ])('refuses message #%# naming %s', (body, field) => {
    expect(fieldOf(() => parseProfileChange(body))).toBe(field);
  });
});
