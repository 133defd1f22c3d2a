import { ValidationError } from '../../../../lambda/runtime/errors';
import { checkRequestSize, headerValue, MAX_ID, parseCategory, parseId, parsePage, parseQuery, REQUEST_LIMITS } from '../../../../lambda/runtime/http/request';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  return undefined;
}

describe('parseId', () => {
  test.each(['1', '42', String(MAX_ID)])('accepts %s', (raw) => {
    expect(parseId('id', raw)).toBe(Number(raw));
  });

  test.each(['0', '-1', '01', '1.0', '1e3', 'abc', '', ' 1', String(MAX_ID + 1), '9223372036854775808', '%31'])('rejects %j naming the field', (raw) => {
    expect(fieldOf(() => parseId('id', raw))).toBe('id');
  });
});

describe('parsePage and parseCategory', () => {
  test('page defaults to 1 and stays within 1…maxPage', () => {
    expect(parsePage(undefined)).toBe(1);
    expect(parsePage('7')).toBe(7);
    expect(parsePage(String(REQUEST_LIMITS.maxPage))).toBe(REQUEST_LIMITS.maxPage);
    for (const raw of ['0', '', 'x', '1.5', String(REQUEST_LIMITS.maxPage + 1), '-2']) expect(fieldOf(() => parsePage(raw))).toBe('page');
  });

  test('category is a slug as the schema allows it', () => {
    expect(parseCategory(undefined)).toBeUndefined();
    expect(parseCategory('home-garden')).toBe('home-garden');
    for (const raw of ['', 'Books', 'a b', 'x'.repeat(65), '../etc']) expect(fieldOf(() => parseCategory(raw))).toBe('category');
  });
});

describe('parseQuery', () => {
  test('returns the allowed parameters, decoded', () => {
    expect(parseQuery('category=books&page=2', ['category', 'page'])).toEqual({ category: 'books', page: '2' });
    expect(parseQuery('', [])).toEqual({});
  });

  test('names an unknown parameter and lists the accepted ones', () => {
    expect(() => parseQuery('categroy=books', ['category', 'page'])).toThrow('unknown query parameter "categroy" (accepted: category, page)');
    expect(fieldOf(() => parseQuery('x=1', []))).toBe('x');
  });

  test('refuses a parameter given twice', () => {
    expect(() => parseQuery('page=1&page=2', ['page'])).toThrow('query parameter page must be given at most once');
  });
});

describe('checkRequestSize', () => {
  test('accepts requests within the limits', () => {
    expect(() => checkRequestSize('/'.padEnd(REQUEST_LIMITS.pathBytes, 'a'), 'q'.repeat(REQUEST_LIMITS.queryBytes), undefined, false)).not.toThrow();
  });

  test.each<[string, string, string, string | undefined, boolean]>([
    ['path', '/'.padEnd(REQUEST_LIMITS.pathBytes + 1, 'a'), '', undefined, false],
    ['query', '/', 'q'.repeat(REQUEST_LIMITS.queryBytes + 1), undefined, false],
    ['body', '/', '', 'x', false],
    ['body', '/', '', Buffer.alloc(70_000).toString('base64'), true],
  ])('rejects an oversized %s', (field, path, query, body, base64) => {
    expect(fieldOf(() => checkRequestSize(path, query, body, base64))).toBe(field);
  });

  test('counts bytes, not characters', () => {
    expect(fieldOf(() => checkRequestSize('/' + 'é'.repeat(REQUEST_LIMITS.pathBytes / 2), '', undefined, false))).toBe('path');
  });
});

test('headerValue reads the lower-case names of payload v2', () => {
  expect(headerValue({ 'if-none-match': '"a"' }, 'if-none-match')).toBe('"a"');
  expect(headerValue({}, 'if-none-match')).toBeUndefined();
  expect(headerValue(undefined, 'x')).toBeUndefined();
});

describe('the messages name the limit and quote the input', () => {
  test('checkRequestSize says which limit, and how many body bytes it got', () => {
    expect(() => checkRequestSize('/'.padEnd(REQUEST_LIMITS.pathBytes + 1, 'a'), '', undefined, false)).toThrow(
      new ValidationError('path', 'the path must be at most 1024 bytes'),
    );
    expect(() => checkRequestSize('/', 'q'.repeat(REQUEST_LIMITS.queryBytes + 1), undefined, false)).toThrow(
      new ValidationError('query', 'the query string must be at most 2048 bytes'),
    );
    expect(() => checkRequestSize('/', '', 'héllo', false)).toThrow(new ValidationError('body', 'this route takes no request body (limit 0 bytes, got 6)'));
    // A base64 body counts by its decoded bytes: 'aGk=' is the 2 bytes of "hi", not 4.
    expect(() => checkRequestSize('/', '', 'aGk=', true)).toThrow('this route takes no request body (limit 0 bytes, got 2)');
  });

  test('an empty body, or a base64 body that decodes to nothing, is no body', () => {
    expect(() => checkRequestSize('/', '', '', false)).not.toThrow();
    expect(() => checkRequestSize('/', '', '', true)).not.toThrow();
    expect(() => checkRequestSize('/', '', '====', true)).not.toThrow();
    expect(() => checkRequestSize('/', '', '====', false)).toThrow('got 4');
  });

  test('a query string of exactly the limit in bytes passes, one more multi-byte character does not', () => {
    expect(() => checkRequestSize('/', 'é'.repeat(REQUEST_LIMITS.queryBytes / 2), undefined, false)).not.toThrow();
    expect(fieldOf(() => checkRequestSize('/', 'é'.repeat(REQUEST_LIMITS.queryBytes / 2) + 'a', undefined, false))).toBe('query');
  });

  test('parseId, parsePage and parseCategory quote what they got, cut at 64 characters', () => {
    expect(() => parseId('productId', 'abc')).toThrow(new ValidationError('productId', `productId must be a positive integer no greater than ${MAX_ID}, got "abc"`));
    expect(() => parseId('productId', undefined)).toThrow(`productId must be a positive integer no greater than ${MAX_ID}, got ""`);
    expect(() => parsePage('0')).toThrow(new ValidationError('page', 'page must be an integer between 1 and 10000, got "0"'));
    expect(() => parseCategory('x'.repeat(65))).toThrow(
      new ValidationError('category', `category must be 1 to 64 lower-case letters, digits or hyphens, got "${'x'.repeat(64)}…"`),
    );
    expect(() => parseCategory('A'.repeat(64))).toThrow(`got "${'A'.repeat(64)}"`);
    expect(() => parseCategory('a\nb')).toThrow('got "a\\nb"');
  });

  test('a route that takes no parameter says so', () => {
    expect(() => parseQuery('x=1', [])).toThrow(new ValidationError('x', 'unknown query parameter "x" (this route accepts none)'));
    expect(fieldOf(() => parseQuery('page=1&page=2', ['page']))).toBe('page');
  });
});

describe('the edges of the accepted ranges', () => {
  test('ids of 1 to 16 digits, up to MAX_ID', () => {
    expect(parseId('id', '9')).toBe(9);
    expect(parseId('id', '1000000000000000')).toBe(1e15);
    expect(parseId('id', '9007199254740991')).toBe(MAX_ID);
    for (const raw of ['9007199254740992', '10000000000000000', 'x1', '1x', '1\n']) expect(fieldOf(() => parseId('id', raw))).toBe('id');
  });

  test('pages of 1 to 5 digits, up to maxPage', () => {
    expect(parsePage('1')).toBe(1);
    expect(parsePage('9999')).toBe(9999);
    for (const raw of ['10001', '99999', '100000', '01', 'x1', '1x', '1\n']) expect(fieldOf(() => parsePage(raw))).toBe('page');
  });

  test('slugs of 1 to 64 characters of a-z, 0-9 and hyphen', () => {
    for (const raw of ['a', 'z', '0', '9', '-', 'x'.repeat(64), 'a-1']) expect(parseCategory(raw)).toBe(raw);
    for (const raw of ['a_b', 'é', 'x.y', ' a', 'a ', 'a\n', 'x/a']) expect(fieldOf(() => parseCategory(raw))).toBe('category');
  });
});
