/**
 * HTTP in front of a Lambda handler, as API Gateway HTTP API (payload v2) puts it: the event built
 * from a request, and a local server that invokes a handler with it. The repository's dev server
 * (`npm run dev`) and `cache-pyramid dev` (your own handler) both serve through it.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

/** The claims and scopes of a verified (or, locally, decoded) JWT, as the authorizer passes them. */
export interface VerifiedJwt {
  readonly claims: Record<string, string>;
  readonly scopes: string[];
}

/** API Gateway refuses larger payloads with 413 before invoking the function. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface IncomingRequest {
  readonly method: string;
  /** Path and query, as on the request line. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
}

/**
 * The payload-v2 event API Gateway would build: lower-case headers with repeated ones joined by
 * commas, cookies moved out of the headers into `cookies`, query parameters decoded with repeated
 * ones joined by commas, a text body as is and anything else base64-encoded.
 */
export function toApiEvent(request: IncomingRequest, jwt?: VerifiedJwt, now = new Date()): APIGatewayProxyEventV2 | APIGatewayProxyEventV2WithJWTAuthorizer {
  const url = new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(',') : value;
    if (name === 'cookie') cookies = joined.split(/;\s*/).filter((c) => c !== '');
    else headers[name] = joined;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    queryStringParameters[name] = name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
  }
  const contentType = headers['content-type'] ?? '';
  const isText = /^(text\/|application\/(json|xml|x-www-form-urlencoded))/.test(contentType);
  const rawQueryString = url.search.replace(/^\?/, '');
  const base: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString,
    headers,
    ...(cookies ? { cookies } : {}),
    ...(rawQueryString ? { queryStringParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0],
      http: { method: request.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: request.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: request.body.length > 0 && !isText,
    ...(request.body.length > 0 ? { body: isText ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
  };
  if (!jwt) return base;
  const authorized: APIGatewayProxyEventV2WithJWTAuthorizer = {
    ...base,
    requestContext: { ...base.requestContext, authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: jwt.claims, scopes: jwt.scopes } } },
  };
  return authorized;
}

export function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

