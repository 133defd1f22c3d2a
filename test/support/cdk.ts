import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/** The feature flags of `cdk.json`, so that tests synthesise exactly what `cdk synth` does. */
const CDK_JSON_CONTEXT = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/**
 * Context acknowledging that a stage keeping its data (prod) deploys alarms that notify nobody: the
 * repository synthesizes cdk.json's prod in tests and CI (`-c alarmsWithoutSubscribers=true`) and
 * deploys nothing; a team deploying prod names its subscribers instead.
 */
export const ALARMS_ACKNOWLEDGED = { alarmsWithoutSubscribers: true } as const;

/** A concrete environment for tests that need one (cross-region references, Origin Shield, AZ lookups). */
export const TEST_ENV = { account: '111111111111', region: 'eu-west-1' } as const;

/**
 * An App with `cdk.json`'s context and NodejsFunction bundling turned off, so a test synthesises
 * in milliseconds. Only `test/lib/stack/validation.test.ts` bundles (once per run).
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
}

/** An App with `cdk.json`'s context that bundles function code as `cdk synth` does (slow: use once per run). */
export function bundlingApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, ...context } });
}

/** A fresh stack in a fresh {@link testApp}, in {@link TEST_ENV} unless `props.env` says otherwise. */
export function testStack(props: StackProps = {}, app: App = testApp()): Stack {
  return new Stack(app, 'Test', { env: TEST_ENV, ...props });
}

/** A rule that a validation plugin reported and nothing acknowledged. */
export interface ValidationFinding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly constructPaths: string[];
}

/**
 * Synthesises `app` with the same validation plugins as `bin/cache-pyramid.ts` (cdk-nag AwsSolutions
 * and the cfn-guard Control Tower rules) and returns every finding left unacknowledged, warnings
 * included, so a test can assert the list is empty and print it when it is not.
 */
export function unacknowledgedFindings(app: App): ValidationFinding[] {
  if (fs.existsSync(path.join(app.outdir, 'manifest.json'))) {
    throw new Error('unacknowledgedFindings: the app was already synthesised (Template.fromStack?), so no plugin would run');
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator({ controlTowerRulesEnabled: true }));
  const silenced = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch (error) {
    // In-memory synthesis (jest) throws the report; the copy on disk is what we read.
    if ((error as Error).name !== 'ValidationFailed') throw error;
  } finally {
    silenced.mockRestore();
  }
  return readFindings(path.join(app.outdir, 'validation-report.json'));
}

/** The unacknowledged findings of a `validation-report.json` written by a synth with plugins. */
export function readFindings(reportPath: string): ValidationFinding[] {
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8')) as {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{ ruleName: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }>;
    }>;
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((violation) => ({
      plugin: plugin.pluginName,
      rule: violation.ruleName,
      severity: violation.severity,
      constructPaths: violation.violatingConstructs.map((c) => c.constructPath),
    })),
  );
}
