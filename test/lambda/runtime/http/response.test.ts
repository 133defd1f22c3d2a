import { ConflictError, ForbiddenError, NotFoundError, OriginUnavailableError, UnauthorizedError, ValidationError } from '../../../../lambda/runtime/errors';
import { Cacheability } from '../../../../lambda/runtime/http/cache-control';
import { strongETag } from '../../../../lambda/runtime/http/etag';
import { entityResponse, responseForError } from '../../../../lambda/runtime/http/response';

describe('entityResponse', () => {
  const body = '{"id":1}';

  test('200 with the body, its strong ETag and the caching headers', () => {
    const res = entityResponse({ body, cacheability: Cacheability.PUBLIC, maxAgeSeconds: 120, method: 'GET', headers: { 'x-cache': 'redis' } });
    expect(res).toEqual({
      statusCode: 200,
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'cache-control': 'public, max-age=120, stale-while-revalidate=60, stale-if-error=86400',
        vary: 'Accept-Encoding',
        etag: strongETag(body),
        'x-cache': 'redis',
      },
    });
  });

  test('304 with no body and the same ETag, Cache-Control and Vary when If-None-Match matches', () => {
    const full = entityResponse({ body, cacheability: Cacheability.PUBLIC, maxAgeSeconds: 120, method: 'GET' });
    const res = entityResponse({ body, cacheability: Cacheability.PUBLIC, maxAgeSeconds: 120, method: 'GET', ifNoneMatch: `W/${full.headers.etag}` });
    expect(res.statusCode).toBe(304);
    expect(res.body).toBe('');
    expect(res.headers).toMatchObject({ etag: full.headers.etag, 'cache-control': full.headers['cache-control'], vary: 'Accept-Encoding' });
    expect(res.headers).not.toHaveProperty('content-type');
  });

  test('HEAD gets the headers of GET and no body', () => {
    const res = entityResponse({ body, cacheability: Cacheability.PRIVATE, maxAgeSeconds: 0, method: 'HEAD' });
    expect(res).toMatchObject({ statusCode: 200, body: '', headers: { etag: strongETag(body), 'cache-control': 'private, max-age=0, no-cache' } });
  });

  test('only a public response varies on Accept-Encoding; a secret one is never stored', () => {
    expect(entityResponse({ body, cacheability: Cacheability.PRIVATE, maxAgeSeconds: 0, method: 'GET' }).headers).not.toHaveProperty('vary');
    expect(entityResponse({ body, cacheability: Cacheability.SECRET, maxAgeSeconds: 0, method: 'GET' }).headers).toMatchObject({ 'cache-control': 'no-store' });
  });
});

describe('responseForError', () => {
  test.each([
    [new ValidationError('page', 'bad page'), 400, { code: 'invalid_request', message: 'bad page', field: 'page' }],
    [new UnauthorizedError('no token'), 401, { code: 'unauthorized', message: 'no token' }],
    [new ForbiddenError('not yours'), 403, { code: 'forbidden', message: 'not yours' }],
    [new NotFoundError('gone'), 404, { code: 'not_found', message: 'gone' }],
    [new ConflictError('stale'), 409, { code: 'conflict', message: 'stale' }],
    [new OriginUnavailableError('pg down', 7), 503, { code: 'origin_unavailable', message: 'the service is temporarily unavailable, retry later' }],
    [new Error('secret detail'), 500, { code: 'internal_error', message: 'internal error' }],
  ])('%s → %i with a JSON error body and no-store', (error, status, body) => {
    const { response, unexpected } = responseForError(error);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body)).toEqual({ error: body });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(unexpected).toBe(status === 500);
  });

  test('401 asks for a bearer token and 503 says when to retry', () => {
    expect(responseForError(new UnauthorizedError('x')).response.headers['www-authenticate']).toBe('Bearer');
    expect(responseForError(new OriginUnavailableError('x', 7)).response.headers['retry-after']).toBe('7');
  });
});
