#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CachePyramidStack } from '../lib/cache-pyramid-stack';

const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';
new CachePyramidStack(app, `CachePyramid-${stage}`, { stage });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
