#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ArticlesStack } from './stack';

const app = new App();
new ArticlesStack(app, 'Articles', {
  env: { region: app.node.tryGetContext('region') ?? 'eu-west-1' },
  jwtIssuer: app.node.tryGetContext('jwtIssuer') ?? 'https://auth.example.com/',
  jwtAudience: [app.node.tryGetContext('jwtAudience') ?? 'articles'],
});
// Every synth runs cdk-nag: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
