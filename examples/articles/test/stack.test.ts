import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_MIGRATIONS_DIR, hashMigrations, L1Bus } from 'cache-pyramid';
import { testApp, TEST_ENV, unacknowledgedFindings } from '../../../test/support/cdk';
import { ARTICLES_MIGRATIONS_DIR, ArticlesStack, ArticlesStackProps } from '../stack';

function synth(auth: Pick<ArticlesStackProps, 'jwtIssuer' | 'jwtAudience' | 'l1Bus'> = { jwtIssuer: 'https://id.articles.test/', jwtAudience: ['articles'] }) {
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

  it("migrates the database at deploy from the app's own migrations folder, not the shop's", () => {
    const { stack } = synth();
    const template = Template.fromStack(stack);
    // The hash of the folder is what re-runs the custom resource when a file is added or edited.
    template.hasResourceProperties('Custom::DatabaseMigrations', { MigrationsHash: hashMigrations(ARTICLES_MIGRATIONS_DIR), Database: 'cache_pyramid' });
    expect(stack.database.migrationsHash).not.toBe(hashMigrations(DEFAULT_MIGRATIONS_DIR));
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'Applies examples/articles/migrations to the origin database (CloudFormation custom resource)' });
  });

  it('gives the handler a connection retry budget from its timeout, and leaves the L1 bus off', () => {
    const template = Template.fromStack(synth().stack);
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^cache-pyramid resource API') } }));
    expect(fn.Properties.Timeout).toBe(10);
    expect(fn.Properties.Environment.Variables.DB_CONNECT_RETRY_BUDGET_MS).toBe('6500');
    expect(fn.Properties.Environment.Variables).not.toHaveProperty('CACHE_L1_BUS');
  });

  it('turns the L1 bus on for the handler when asked (-c l1Bus=sync), and refuses a mode that is not one', () => {
    const template = Template.fromStack(synth({ jwtIssuer: 'https://id.articles.test/', jwtAudience: ['articles'], l1Bus: L1Bus.SYNC }).stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^cache-pyramid resource API'),
      Environment: { Variables: Match.objectLike({ CACHE_L1_BUS: 'sync' }) },
    });
    expect(() => synth({ jwtIssuer: 'https://id.articles.test/', jwtAudience: ['articles'], l1Bus: 'on' as L1Bus })).toThrow('ResourceApi: `l1Bus` must be one of off, listen, sync, got "on"');
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
