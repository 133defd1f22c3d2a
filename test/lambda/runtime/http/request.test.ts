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
