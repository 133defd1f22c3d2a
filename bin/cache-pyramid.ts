#!/usr/bin/env node
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addCachePyramidStacks } from '../lib/cache-pyramid-app';
import { loadStageConfig } from '../lib/stages';

const app = new App();
addCachePyramidStacks(app, loadStageConfig(app));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator({ controlTowerRulesEnabled: true }));
