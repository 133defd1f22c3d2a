/** API Gateway (payload v2) events for the articles tests, with the claims the JWT authorizer would pass. */
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';

/** A request to `rawPath`; with `sub`, as the JWT authorizer passes it for a signed-in caller. */
export function event(rawPath: string, options: { method?: string; query?: string; sub?: string; body?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  const base: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: options.query ?? '',
    headers: { host: 'api.example.test', ...options.headers },
    requestContext: {
      accountId: '111122223333',
      apiId: 'test',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method: options.method ?? 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'jest' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '30/Nov/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
  if (options.sub === undefined) return base;
  const authorized: APIGatewayProxyEventV2WithJWTAuthorizer = {
    ...base,
    requestContext: { ...base.requestContext, authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: { sub: options.sub }, scopes: [] } } },
  };
  return authorized as unknown as APIGatewayProxyEventV2;
}
