import fc from 'fast-check';
import { ifNoneMatchMatches, parseEntityTagList, strongETag } from '../../../../lambda/runtime/http/etag';

describe('strongETag', () => {
  test('is a quoted hash of the exact bytes: equal bodies share it, any change alters it', () => {
    const etag = strongETag('{"id":1}');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(strongETag(Buffer.from('{"id":1}'))).toBe(etag);
    expect(strongETag('{"id":1} ')).not.toBe(etag);
  });
});

describe('If-None-Match', () => {
  const etag = strongETag('body');
  const opaque = etag;

  test.each([
    [opaque, true],
    [`W/${opaque}`, true],
    [`"other", ${opaque}`, true],
    [`"a,b" , W/${opaque}`, true],
    ['*', true],
    [' * ', true],
    ['"other"', false],
    ['', false],
    [opaque.slice(1, -1), false],
    [`${opaque}, garbage`, false],
    [`W/"x", *`, false],
  ])('%j matches: %p', (header, expected) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(expected);
  });

  test('an absent header matches nothing', () => {
    expect(ifNoneMatchMatches(undefined, etag)).toBe(false);
  });

  test('any list that contains the tag, weak or strong, in any position matches', () => {
    const tag = fc.stringMatching(/^[\x21\x23-\x7e]{0,20}$/).map((t) => `"${t}"`);
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 5 }), fc.array(tag, { maxLength: 5 }), fc.boolean(), fc.constantFrom(',', ', ', ' ,  '), (before, after, weak, sep) => {
        const header = [...before, (weak ? 'W/' : '') + etag, ...after].join(sep);
        expect(ifNoneMatchMatches(header, etag)).toBe(true);
        expect(parseEntityTagList(header)).toEqual([...before, etag, ...after]);
      }),
    );
  });
});

describe('strongETag value', () => {
  test('is the first 22 base64url characters of the SHA-256 of the body', () => {
    expect(strongETag('body')).toBe('"Iw2DWNyOiJC0xY3utikS7i"');
    expect(strongETag(new Uint8Array())).toBe('"47DEQpj8HBSa-_TImW-5JC"');
  });
});

describe('parseEntityTagList', () => {
  test.each([
    ['"x"', ['"x"']],
    ['""', ['""']],
    ['W/"x"', ['"x"']],
    ['"a","b"', ['"a"', '"b"']],
    ['  "a" ,\t"b"  ', ['"a"', '"b"']],
    ['"a",', ['"a"']],
    ['"a", \t', ['"a"']],
    ['"!#~"', ['"!#~"']],
    ['"a,b"', ['"a,b"']],
    ['"\x80\xff"', ['"\x80\xff"']],
    ['*', ['*']],
    ['  *\t', ['*']],
  ])('reads %j as %j', (header, tags) => {
    expect(parseEntityTagList(header)).toEqual(tags);
  });

  test.each([
    ['an empty header', ''],
    ['blanks only', '   '],
    ['junk before a tag (the list must start with one)', 'junk "x"'],
    ['junk right before a tag', 'x"x"'],
    ['an unquoted tag', 'x'],
    ['two tags without a comma', '"a" "b"'],
    ['a tag glued to the next', '"a""b"'],
    ['a leading comma', ',"a"'],
    ['a space inside the quotes', '"a b"'],
    ['a DEL inside the quotes', '"a\x7fb"'],
    ['a control character inside the quotes', '"a\x1fb"'],
    ['a character above 0xff', '"\u0100"'],
    ['a lower-case weak marker', 'w/"x"'],
    ['a wildcard inside a list', '"a", *'],
    ['an unterminated tag', '"abc'],
  ])('refuses %s', (_label, header) => {
    expect(parseEntityTagList(header)).toBeUndefined();
  });
});

describe('If-None-Match edge cases', () => {
  test('junk before the current tag does not answer 304', () => {
    expect(ifNoneMatchMatches('junk "tag"', '"tag"')).toBe(false);
    expect(ifNoneMatchMatches('"tag"', '"tag"')).toBe(true);
  });

  test('a weak current tag is compared weakly', () => {
    expect(ifNoneMatchMatches('"tag"', 'W/"tag"')).toBe(true);
    expect(ifNoneMatchMatches('W/"tag"', 'W/"tag"')).toBe(true);
    expect(ifNoneMatchMatches('"other"', 'W/"tag"')).toBe(false);
    expect(ifNoneMatchMatches('*', 'W/"tag"')).toBe(true);
  });

  test('a malformed header matches nothing, even when it holds the tag', () => {
    expect(ifNoneMatchMatches('"tag" junk', '"tag"')).toBe(false);
  });
});
