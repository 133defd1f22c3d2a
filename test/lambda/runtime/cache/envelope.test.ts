import fc from 'fast-check';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_FORMAT, isTombstone } from '../../../../lambda/runtime/cache/envelope';

describe('cache envelope', () => {
  test('round-trips any JSON value with its metadata', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        (value, storedAt, life, version) => {
          const entry = { v: value, s: storedAt, x: storedAt + life, ...(version === undefined ? {} : { ver: version }) };
          const decoded = decodeEnvelope(encodeEnvelope(entry));
          expect(decoded).toEqual({ f: ENVELOPE_FORMAT, ...JSON.parse(JSON.stringify(entry)) });
        },
      ),
    );
  });

  test('keeps the metadata before the value so that it reads well in redis-cli', () => {
    expect(encodeEnvelope({ v: { a: 1 }, s: 10, x: 20, ver: 3, d: 5 })).toBe('{"f":1,"s":10,"x":20,"ver":3,"d":5,"v":{"a":1}}');
    expect(encodeEnvelope({ v: null, s: 1, x: 1, ver: 2, t: 1 })).toBe('{"f":1,"s":1,"x":1,"ver":2,"t":1,"v":null}');
    expect(encodeEnvelope({ v: 1, s: 1, x: 2, g: ['product:1'], e: 7 })).toBe('{"f":1,"s":1,"x":2,"g":["product:1"],"e":7,"v":1}');
    expect(decodeEnvelope('{"f":1,"s":1,"x":2,"g":["product:1"],"e":7,"v":1}')).toEqual({ f: 1, s: 1, x: 2, g: ['product:1'], e: 7, v: 1 });
  });

  test.each([
    ['null', null],
    ['empty', ''],
    ['not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"x"'],
    ['another format', '{"f":2,"v":1,"s":1,"x":2}'],
    ['no value field', '{"f":1,"s":1,"x":2}'],
    ['a non-numeric stored-at', '{"f":1,"v":1,"s":"yesterday","x":2}'],
    ['a non-numeric version', '{"f":1,"v":1,"s":1,"x":2,"ver":"3"}'],
    ['an unknown tombstone marker', '{"f":1,"v":null,"s":1,"x":2,"t":true}'],
    ['truncated JSON', '{"f":1,"v":'],
    ['tags without their ticket', '{"f":1,"s":1,"x":2,"g":["t"],"v":1}'],
    ['a ticket without tags', '{"f":1,"s":1,"x":2,"e":5,"v":1}'],
    ['tags that are not strings', '{"f":1,"s":1,"x":2,"g":[1],"e":5,"v":1}'],
    ['some tags that are not strings', '{"f":1,"s":1,"x":2,"g":["a",1],"e":5,"v":1}'],
    ['tags that are not an array', '{"f":1,"s":1,"x":2,"g":"t","e":5,"v":1}'],
    ['a non-numeric ticket', '{"f":1,"s":1,"x":2,"g":["t"],"e":"5","v":1}'],
    ['a non-numeric soft expiry', '{"f":1,"v":1,"s":1,"x":"2"}'],
    ['no soft expiry', '{"f":1,"v":1,"s":1}'],
    ['a non-numeric load time', '{"f":1,"v":1,"s":1,"x":2,"d":"5"}'],
    ['a non-numeric own TTL', '{"f":1,"v":1,"s":1,"x":2,"l":"60"}'],
    ['a format given as a string', '{"f":"1","v":1,"s":1,"x":2}'],
    ['JSON with leading white space', ' {"f":1,"v":1,"s":1,"x":2}'],
    ['undefined', undefined],
    ['JSON null', 'null'],
    ['an infinite stored-at (1e999 parses to Infinity)', '{"f":1,"v":1,"s":1e999,"x":2}'],
    ['an infinite ticket', '{"f":1,"s":1,"x":2,"g":["t"],"e":-1e999,"v":1}'],
  ])('decodes %s as a miss', (_what, raw) => {
    expect(decodeEnvelope(raw)).toBeUndefined();
  });

  test('decodes every optional field it knows, and a tombstone', () => {
    const raw = '{"f":1,"s":1,"x":2,"ver":3,"d":4,"t":1,"l":60,"g":[],"e":0,"v":null}';
    const entry = decodeEnvelope(raw);
    expect(entry).toEqual({ f: 1, s: 1, x: 2, ver: 3, d: 4, t: 1, l: 60, g: [], e: 0, v: null });
    expect(isTombstone(entry!)).toBe(true);
    expect(isTombstone(decodeEnvelope('{"f":1,"s":1,"x":2,"v":null}')!)).toBe(false);
  });

  test('writes only the optional fields that are set, the own TTL included', () => {
    expect(encodeEnvelope({ v: 'a', s: 1, x: 2, l: 30 })).toBe('{"f":1,"s":1,"x":2,"l":30,"v":"a"}');
    expect(encodeEnvelope({ v: 'a', s: 1, x: 2, ver: 0, d: 0, l: 0 })).toBe('{"f":1,"s":1,"x":2,"ver":0,"d":0,"l":0,"v":"a"}');
    expect(encodeEnvelope({ v: 'a', s: 1, x: 2 })).toBe('{"f":1,"s":1,"x":2,"v":"a"}');
    // A ticket goes only with tags: without them it would make the entry undecodable.
    expect(encodeEnvelope({ v: 'a', s: 1, x: 2, e: 5 })).toBe('{"f":1,"s":1,"x":2,"v":"a"}');
  });

  test('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (raw) => {
        expect(() => decodeEnvelope(raw)).not.toThrow();
      }),
    );
  });
});
