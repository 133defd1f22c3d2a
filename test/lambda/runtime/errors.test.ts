import {
  CacheUnavailableError,
  ConflictError,
  ForbiddenError,
  InvalidationPublishError,
  NotFoundError,
  OriginUnavailableError,
  QueueSendError,
  UnauthorizedError,
  UnprocessableEventError,
  ValidationError,
} from '../../../lambda/runtime/errors';

describe('typed errors', () => {
  // Each error is built inside its test (not in the table), so that mutation testing's per-test
  // coverage sees the constructor run under the test.
  test.each<[string, () => Error]>([
    ['ValidationError', () => new ValidationError('page', 'm')],
    ['UnauthorizedError', () => new UnauthorizedError('m')],
    ['ForbiddenError', () => new ForbiddenError('m')],
    ['NotFoundError', () => new NotFoundError('m')],
    ['ConflictError', () => new ConflictError('m')],
    ['OriginUnavailableError', () => new OriginUnavailableError('m')],
    ['CacheUnavailableError', () => new CacheUnavailableError('m')],
    ['QueueSendError', () => new QueueSendError('m', [])],
    ['UnprocessableEventError', () => new UnprocessableEventError('m')],
    ['InvalidationPublishError', () => new InvalidationPublishError('m', [])],
  ])('%s is named so in logs and carries its message', (name, make) => {
    const error = make();
    expect(error.name).toBe(name);
    expect(error.message).toBe('m');
    expect(String(error)).toBe(`${name}: m`);
  });

  test('each carries its details and its cause', () => {
    const cause = new Error('socket');
    expect(new ValidationError('page', 'm').field).toBe('page');
    expect(new OriginUnavailableError('m').retryAfterSeconds).toBe(5);
    expect(new OriginUnavailableError('m', 9, { cause })).toMatchObject({ retryAfterSeconds: 9, cause });
    expect(new CacheUnavailableError('m', { cause }).cause).toBe(cause);
    expect(new QueueSendError('m', ['a', 'b'], { cause })).toMatchObject({ unsentIds: ['a', 'b'], cause });
    expect(new UnprocessableEventError('bad').reason).toBe('bad');
    const failures = [{ source: 's', detailType: 'd', errorCode: 'E', errorMessage: 'x' }];
    expect(new InvalidationPublishError('m', failures, { cause })).toMatchObject({ failures, cause });
  });
});
