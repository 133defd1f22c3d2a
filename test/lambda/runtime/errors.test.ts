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
  test.each([
    [new ValidationError('page', 'm'), 'ValidationError'],
    [new UnauthorizedError('m'), 'UnauthorizedError'],
    [new ForbiddenError('m'), 'ForbiddenError'],
    [new NotFoundError('m'), 'NotFoundError'],
    [new ConflictError('m'), 'ConflictError'],
    [new OriginUnavailableError('m'), 'OriginUnavailableError'],
    [new CacheUnavailableError('m'), 'CacheUnavailableError'],
    [new QueueSendError('m', []), 'QueueSendError'],
    [new UnprocessableEventError('m'), 'UnprocessableEventError'],
    [new InvalidationPublishError('m', []), 'InvalidationPublishError'],
  ])('%s is named %s in logs and carries its message', (error, name) => {
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
