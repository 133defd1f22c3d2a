import { attachBytes, attachedBytes, bytesPerChar } from '../../../../lambda/runtime/cache/heap-size';

describe('heap-size', () => {
  test('bytesPerChar: 1 for ASCII, 2 once any character is not, from the UTF-8 length when given', () => {
    expect(bytesPerChar('plain')).toBe(1);
    expect(bytesPerChar('plü')).toBe(2);
    expect(bytesPerChar('')).toBe(1);
    expect(bytesPerChar('abc', 3)).toBe(1);
    expect(bytesPerChar('abc', 4)).toBe(2);
  });

  test('attachBytes records bytes on an object value, replacing what was attached before', () => {
    const value = { id: 1 };
    expect(attachedBytes(value)).toBe(0);
    expect(attachBytes(value, 500)).toBe(true);
    expect(attachedBytes(value)).toBe(500);
    expect(attachBytes(value, 80)).toBe(true);
    expect(attachedBytes(value)).toBe(80);
    expect(attachedBytes({ id: 1 })).toBe(0);
    const list = [1, 2];
    expect(attachBytes(list, 7)).toBe(true);
    expect(attachedBytes(list)).toBe(7);
  });

  test.each([[null], [undefined], [1], ['text'], [true]])('nothing can be attached to %p, and it has none', (value) => {
    expect(attachBytes(value, 500)).toBe(false);
    expect(attachedBytes(value)).toBe(0);
  });
});
