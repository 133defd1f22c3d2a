import { ConflictError, ForbiddenError, NotFoundError, OriginUnavailableError, UnauthorizedError, ValidationError } from '../../../../lambda/runtime/errors';
import { Cacheability } from '../../../../lambda/runtime/http/cache-control';
import { strongETag } from '../../../../lambda/runtime/http/etag';
import { entityResponse, errorResponse, responseForError, uncachedResponse } from '../../../../lambda/runtime/http/response';

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

describe('every header of the responses', () => {
  const body = '{"id":1}';

  test('an ETag the caller already has is used as is, and a 304 keeps the extra headers', () => {
    const etag = '"cached-etag"';
    const res = entityResponse({ body, etag, cacheability: Cacheability.PRIVATE, maxAgeSeconds: 5, method: 'GET', headers: { 'x-cache': 'l1' } });
    expect(res.headers.etag).toBe(etag);
    const notModified = entityResponse({ body, etag, cacheability: Cacheability.PRIVATE, maxAgeSeconds: 5, method: 'GET', ifNoneMatch: etag, headers: { 'x-cache': 'l1' } });
    expect(notModified).toEqual({
      statusCode: 304,
      body: '',
      headers: { 'x-content-type-options': 'nosniff', 'cache-control': 'private, max-age=0, no-cache', etag, 'x-cache': 'l1' },
    });
  });

  test('a non-matching If-None-Match gets the full 200', () => {
    const res = entityResponse({ body, cacheability: Cacheability.PUBLIC, maxAgeSeconds: 60, method: 'GET', ifNoneMatch: '"other"' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(body);
  });

  test('uncachedResponse: JSON, nosniff, no-store; HEAD has no body; extra headers win', () => {
    expect(uncachedResponse(200, { ok: true }, 'GET')).toEqual({
      statusCode: 200,
      headers: { 'x-content-type-options': 'nosniff', 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: '{"ok":true}',
    });
    expect(uncachedResponse(200, { ok: true }, 'HEAD').body).toBe('');
    expect(uncachedResponse(503, {}, 'GET', { 'retry-after': '3', 'cache-control': 'no-cache' }).headers).toEqual({
      'x-content-type-options': 'nosniff',
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache',
      'retry-after': '3',
    });
  });

  test('errorResponse: a field only when given, the method and headers passed through', () => {
    expect(JSON.parse(errorResponse(400, 'invalid_request', 'bad').body)).toEqual({ error: { code: 'invalid_request', message: 'bad' } });
    expect(Object.keys(JSON.parse(errorResponse(400, 'c', 'm').body).error)).toEqual(['code', 'message']);
    expect(JSON.parse(errorResponse(400, 'c', 'm', { field: '' }).body)).toEqual({ error: { code: 'c', message: 'm', field: '' } });
    const head = errorResponse(404, 'not_found', 'gone', { method: 'HEAD', headers: { 'x-request-id': 'r' } });
    expect(head).toMatchObject({ statusCode: 404, body: '', headers: { 'x-request-id': 'r', 'cache-control': 'no-store' } });
  });

  test.each([
    new ValidationError('page', 'bad page'),
    new UnauthorizedError('no token'),
    new ForbiddenError('not yours'),
    new NotFoundError('gone'),
    new ConflictError('stale'),
    new OriginUnavailableError('pg down', 7),
    new Error('secret detail'),
  ])('responseForError passes the method and the headers on for %s', (error) => {
    const { response } = responseForError(error, 'HEAD', { 'x-request-id': 'r' });
    expect(response.body).toBe('');
    expect(response.headers['x-request-id']).toBe('r');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  test('only the 401 asks for a bearer token, only the 503 carries Retry-After', () => {
    expect(responseForError(new ForbiddenError('x')).response.headers).not.toHaveProperty('www-authenticate');
    expect(responseForError(new NotFoundError('x')).response.headers).not.toHaveProperty('retry-after');
    expect(responseForError(new UnauthorizedError('x'), 'GET', { 'x-request-id': 'r' }).response.headers).toMatchObject({ 'x-request-id': 'r', 'www-authenticate': 'Bearer' });
  });

  test('Retry-After is a whole number of seconds, at least 1', () => {
    const retryAfter = (seconds: number) => responseForError(new OriginUnavailableError('x', seconds), 'GET', { 'x-request-id': 'r' }).response.headers;
    expect(retryAfter(0)['retry-after']).toBe('1');
    expect(retryAfter(0.4)['retry-after']).toBe('1');
    expect(retryAfter(2.4)['retry-after']).toBe('2');
    expect(retryAfter(2.5)['retry-after']).toBe('3');
    expect(retryAfter(30)).toMatchObject({ 'retry-after': '30', 'x-request-id': 'r' });
    expect(responseForError(new OriginUnavailableError('x')).response.headers['retry-after']).toBe('5');
  });
});
