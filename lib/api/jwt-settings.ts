import { Token } from 'aws-cdk-lib';

/**
 * Checks the JWT issuer and audiences an API construct hands to API Gateway's JWT authorizer: the
 * issuer must be an https URL and not an RFC 2606 placeholder (`example.com`, `auth.example.org`,
 * …), which serves no JWKS, so that every JWT route would answer 401 after deploy.
 */
export function checkJwtSettings(construct: string, jwtIssuer: string, jwtAudience: readonly string[]): void {
  if (!Token.isUnresolved(jwtIssuer)) {
    let url: URL | undefined;
    try {
      url = new URL(jwtIssuer);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== 'https:') {
      throw new Error(`${construct}: \`jwtIssuer\` must be an https URL (the token's iss), got ${JSON.stringify(jwtIssuer)}`);
    }
    if (/(^|\.)example\./i.test(url.hostname)) {
      throw new Error(`${construct}: \`jwtIssuer\` is a placeholder (example.*) that serves no keys, so every JWT route would answer 401; set your identity provider's issuer (or an ApiUserPool's), got ${JSON.stringify(jwtIssuer)}`);
    }
  }
  if (jwtAudience.length === 0 || jwtAudience.some((a) => !Token.isUnresolved(a) && a.trim() === '')) {
    throw new Error(`${construct}: \`jwtAudience\` must list at least one non-empty audience, got ${JSON.stringify(jwtAudience)}`);
  }
}
