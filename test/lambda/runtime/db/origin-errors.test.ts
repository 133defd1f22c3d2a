// Server-free: how PostgreSQL and socket failures are classified. The same functions meet real
// failures of a real server in test/lambda/api/aurora-resume.test.ts and write-profiles.test.ts.
import { OriginUnavailableError, ValidationError } from '../../../../lambda/runtime/errors';
import {
  checkStorableText,
  isDataException,
  isLostConnection,
  isOriginUnavailable,
  isStorableText,
  toOriginError,
  toWriteError,
} from '../../../../lambda/runtime/db/origin-errors';

/** An error as node-postgres or Node's net module raises it: a message and, maybe, a code. */
function failure(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('isOriginUnavailable', () => {
  test.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])('a socket error %s', (code) => {
    expect(isOriginUnavailable(failure('socket', code))).toBe(true);
  });

  test.each(['08000', '08006', '28P01', '28000', '53300', '53200', '57014', '57P01', '57P02', '57P03'])('SQLSTATE %s (server unavailable)', (code) => {
    expect(isOriginUnavailable(failure('server', code))).toBe(true);
  });

  test.each(['42P01', '23505', '22P02', '40001', '57P04', '57P00', '57000', '57P011', 'x57P01', 'EACCES', '18000', '5'])(
    'SQLSTATE or code %s (a query bug or a conflict, not unavailability)',
    (code) => {
      expect(isOriginUnavailable(failure('refused', code))).toBe(false);
    },
  );

  test.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Query read timeout',
    'Client has encountered a connection error and is not queryable',
    'Cannot use a pool after calling end on the pool',
  ])('the driver message %j, which carries no code', (message) => {
    expect(isOriginUnavailable(failure(message))).toBe(true);
  });

  test.each(['the Connection terminated', 'Query read timeout exceeded', 'a Query read timeout', 'syntax error at or near "SELEC"'])('not the message %j', (message) => {
    expect(isOriginUnavailable(failure(message))).toBe(false);
  });

  test('an OriginUnavailableError, even without a code', () => {
    expect(isOriginUnavailable(new OriginUnavailableError('down'))).toBe(true);
  });

  test('an AggregateError of socket errors (a host name with several addresses)', () => {
    const refused = new AggregateError([failure('a', 'ECONNREFUSED'), failure('b', 'ETIMEDOUT')], 'connect failed');
    expect(isOriginUnavailable(refused)).toBe(true);
    const mixed = new AggregateError([failure('a', '42P01'), failure('b', 'EHOSTUNREACH')], 'connect failed');
    expect(isOriginUnavailable(mixed)).toBe(true);
    expect(isOriginUnavailable(new AggregateError([failure('a', '42P01')], 'Connection terminated'))).toBe(false);
  });

  test('a non-string code is not a code; the message still counts', () => {
    expect(isOriginUnavailable(failure('x', undefined))).toBe(false);
    expect(isOriginUnavailable(Object.assign(new Error('x'), { code: 8006 }))).toBe(false);
    expect(isOriginUnavailable(Object.assign(new Error('Connection terminated'), { code: 8006 }))).toBe(true);
  });

  test('an error of another realm is recognised by its shape', () => {
    expect(isOriginUnavailable({ message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' })).toBe(true);
  });

  test.each([undefined, null, 'ECONNREFUSED', 42, { code: 'ECONNREFUSED' }, { message: 7, code: 'ECONNREFUSED' }])('not %p, which is no error', (value) => {
    expect(isOriginUnavailable(value)).toBe(false);
  });
});

describe('isLostConnection', () => {
  test.each([
    failure('reset', 'ECONNRESET'),
    failure('broken pipe', 'EPIPE'),
    failure('terminating connection due to administrator command', '57P01'),
    failure('Connection terminated unexpectedly'),
    failure('Client has encountered a connection error and is not queryable'),
  ])('a lost connection: %s', (error) => {
    expect(isLostConnection(error)).toBe(true);
  });

  test.each([
    failure('refused', 'ECONNREFUSED'),
    failure('timeout', 'ETIMEDOUT'),
    failure('canceling statement due to statement timeout', '57014'),
    failure('Connection terminated due to connection timeout'),
    failure('the Connection terminated unexpectedly'),
    failure('timeout exceeded when trying to connect'),
  ])('not a lost connection (retrying at once would not help): %s', (error) => {
    expect(isLostConnection(error)).toBe(false);
  });

  test.each([undefined, null, 'ECONNRESET', { code: 'ECONNRESET' }])('not %p', (value) => {
    expect(isLostConnection(value)).toBe(false);
  });
});

describe('toOriginError', () => {
  test('turns an unavailable origin into an OriginUnavailableError carrying the cause and the Retry-After', () => {
    const cause = failure('connect ECONNREFUSED 10.0.0.1:5432', 'ECONNREFUSED');
    const converted = toOriginError(cause, 17);
    expect(converted).toBeInstanceOf(OriginUnavailableError);
    expect((converted as OriginUnavailableError).message).toBe('PostgreSQL is unavailable: connect ECONNREFUSED 10.0.0.1:5432');
    expect((converted as OriginUnavailableError).retryAfterSeconds).toBe(17);
    expect((converted as OriginUnavailableError).cause).toBe(cause);
  });

  test('returns an OriginUnavailableError and any other error unchanged', () => {
    const already = new OriginUnavailableError('down', 3);
    expect(toOriginError(already, 17)).toBe(already);
    const bug = failure('relation "x" does not exist', '42P01');
    expect(toOriginError(bug, 17)).toBe(bug);
  });
});

describe('isDataException and toWriteError', () => {
  test.each(['22P02', '22021', '22001', '22003', '22P05', '22000'])('SQLSTATE %s is a data exception', (code) => {
    expect(isDataException(failure('bad value', code))).toBe(true);
  });

  test.each(['23505', '2200', '220011', 'x22P02', '22p02', '42P01'])('SQLSTATE %s is not', (code) => {
    expect(isDataException(failure('other', code))).toBe(false);
  });

  test.each([undefined, null, { code: '22P02' }, Object.assign(new Error('x'), { code: 22001 })])('nor is %p', (value) => {
    expect(isDataException(value)).toBe(false);
  });

  test('a data exception becomes a ValidationError naming the field, the SQLSTATE and the message', () => {
    const converted = toWriteError(failure('value too long for type character varying(64)', '22001'), 5, 'name');
    expect(converted).toBeInstanceOf(ValidationError);
    expect((converted as ValidationError).field).toBe('name');
    expect((converted as ValidationError).message).toBe(
      'the database refused a value of the request (SQLSTATE 22001): value too long for type character varying(64)',
    );
    expect((toWriteError(failure('bad', '22P02'), 5) as ValidationError).field).toBe('body');
  });

  test('unavailability becomes an OriginUnavailableError; anything else is unchanged', () => {
    const converted = toWriteError(failure('reset', 'ECONNRESET'), 9);
    expect(converted).toBeInstanceOf(OriginUnavailableError);
    expect((converted as OriginUnavailableError).retryAfterSeconds).toBe(9);
    const conflict = failure('duplicate key', '23505');
    expect(toWriteError(conflict, 9)).toBe(conflict);
  });
});

describe('isStorableText and checkStorableText', () => {
  test.each(['', 'plain', 'naïve ключ', '😀 a pair of surrogates', '\uD83D\uDE00'])('%j can be stored', (text) => {
    expect(isStorableText(text)).toBe(true);
    expect(checkStorableText('name', text)).toBe(text);
  });

  test.each(['a\u0000b', '\u0000'])('%j holds a NUL', (text) => {
    expect(isStorableText(text)).toBe(false);
    expect(() => checkStorableText('name', text)).toThrow(new ValidationError('name', 'name must not contain NUL characters (U+0000)'));
  });

  test.each(['\uD800', 'a\uD83Db', '\uDE00', 'a\uDE00\uD83D', '\uDBFF\uDBFF\uDFFF', '\uD800\uDC00\uDC00'])('%j holds a lone surrogate', (text) => {
    expect(isStorableText(text)).toBe(false);
    let thrown: unknown;
    try {
      checkStorableText('description', text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).field).toBe('description');
    expect((thrown as ValidationError).message).toBe(
      'description must be well-formed Unicode: it holds a lone UTF-16 surrogate (\\ud800-\\udfff), which cannot be stored',
    );
  });

  test.each(['\uDBFF\uDFFF', '\uD800\uDC00'])('%j is a pair at the ends of the ranges', (text) => {
    expect(isStorableText(text)).toBe(true);
  });
});
