#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ArticlesStack } from './stack';

const app = new App();
new ArticlesStack(app, 'Articles', {
  env: { region: app.node.tryGetContext('region') ?? 'eu-west-1' },
  // -c jwtIssuer=https://… -c jwtAudience=… for your identity provider; without them the stack creates a Cognito user pool.
  jwtIssuer: app.node.tryGetContext('jwtIssuer'),
  jwtAudience: app.node.tryGetContext('jwtAudience') === undefined ? undefined : [app.node.tryGetContext('jwtAudience')],
  // -c l1Bus=sync: a comment shows on every sandbox's next invocation instead of within the L1 TTL.
  l1Bus: app.node.tryGetContext('l1Bus'),
});
// Every synth runs cdk-nag: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
