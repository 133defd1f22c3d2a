#!/usr/bin/env node
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addCachePyramidStacks } from '../lib/cache-pyramid-app';
import { guardRulesEnabled, loadStageConfig } from '../lib/stages';

const app = new App();
const stage = loadStageConfig(app);
addCachePyramidStacks(app, stage);
// cdk-nag runs on every synth; the Control Tower guard rules (most of a synth's time) run for prod,
// in CI, and wherever `-c guard=true` asks for them.
const plugins = [new AwsSolutionsChecks(app), ...(guardRulesEnabled(app, stage) ? [new CfnGuardValidator({ controlTowerRulesEnabled: true })] : [])];
Validations.of(app).addPlugins(...plugins);
