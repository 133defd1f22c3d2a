import { Template } from 'aws-cdk-lib/assertions';
import { testApp, TEST_ENV, unacknowledgedFindings } from '../../../test/support/cdk';
import { ArticlesStack, ArticlesStackProps } from '../stack';

function synth(auth: Pick<ArticlesStackProps, 'jwtIssuer' | 'jwtAudience'> = { jwtIssuer: 'https://id.articles.test/', jwtAudience: ['articles'] }) {
  const app = testApp();
  const stack = new ArticlesStack(app, 'Articles', { env: TEST_ENV, ...auth });
  return { app, stack };
}

describe('ArticlesStack', () => {
  it('derives the API routes and the CloudFront behaviours from the article declarations alone', () => {
    const template = Template.fromStack(synth().stack);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => `${r.Properties.RouteKey} ${r.Properties.AuthorizationType}`);
    expect(routes.sort()).toEqual([
      'GET /api/articles/{slug} NONE',
      'GET /api/articles/{slug}/comments NONE',
      'GET /api/authors/{author}/drafts JWT',
      'HEAD /api/articles/{slug} NONE',
      'HEAD /api/articles/{slug}/comments NONE',
      'HEAD /api/authors/{author}/drafts JWT',
      'POST /api/articles/{slug}/comments JWT',
    ]);
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    expect(distribution.Properties.DistributionConfig.CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern)).toEqual([
      '/api/articles/*/comments',
      '/api/authors/*/drafts',
      '/api/articles/*',
      '/api/*',
      '/health',
    ]);
  });

  it('synthesises with no cdk-nag finding left unacknowledged', () => {
    const { app } = synth();
    const findings = unacknowledgedFindings(app).filter((finding) => finding.plugin.includes('AwsSolutions') || finding.rule.startsWith('AwsSolutions'));
    expect(findings).toEqual([]);
  });

  it('creates a Cognito user pool and points the JWT authorizer at it when no issuer is given', () => {
    const template = Template.fromStack(synth({}).stack);
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    const [authorizer] = Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration.Issuer)).toContain('UserPool');
  });

  it('uses the given identity provider and creates no user pool', () => {
    const template = Template.fromStack(synth().stack);
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: 'https://id.articles.test/', Audience: ['articles'] } });
  });

  it('refuses a placeholder issuer, and an issuer without audiences', () => {
    expect(() => synth({ jwtIssuer: 'https://auth.example.com/', jwtAudience: ['articles'] })).toThrow(/`jwtIssuer` is a placeholder \(example\.\*\)/);
    expect(() => synth({ jwtIssuer: 'https://id.articles.test/' })).toThrow(/`jwtIssuer` and `jwtAudience` go together/);
  });
});
