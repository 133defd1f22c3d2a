import { readIntegerEnv, readStringEnv } from '../../../../lambda/runtime/invalidation/env';

describe('purger environment', () => {
  test('a string variable must be set and non-empty', () => {
    expect(readStringEnv({ QUEUE_URL: 'https://sqs/q' }, 'QUEUE_URL')).toBe('https://sqs/q');
    expect(() => readStringEnv({}, 'QUEUE_URL')).toThrow(new Error('QUEUE_URL must be set'));
    expect(() => readStringEnv({ QUEUE_URL: '' }, 'QUEUE_URL')).toThrow(new Error('QUEUE_URL must be set'));
  });

  test('an integer variable falls back when unset or empty', () => {
    expect(readIntegerEnv({}, 'MAX_RECEIVE_COUNT', 5)).toBe(5);
    expect(readIntegerEnv({ MAX_RECEIVE_COUNT: '' }, 'MAX_RECEIVE_COUNT', 5)).toBe(5);
    expect(readIntegerEnv({ MAX_RECEIVE_COUNT: '0' }, 'MAX_RECEIVE_COUNT', 5)).toBe(0);
    expect(readIntegerEnv({ MAX_RECEIVE_COUNT: '12' }, 'MAX_RECEIVE_COUNT', 5)).toBe(12);
  });

  test.each(['-1', '1.5', 'x', '9007199254740992', 'Infinity'])('an integer variable refuses %j, naming the variable and the value', (raw) => {
    expect(() => readIntegerEnv({ MAX_RECEIVE_COUNT: raw }, 'MAX_RECEIVE_COUNT', 5)).toThrow(
      new Error(`MAX_RECEIVE_COUNT must be a non-negative integer, got ${JSON.stringify(raw)}`),
    );
  });
});
