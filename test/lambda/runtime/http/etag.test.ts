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
