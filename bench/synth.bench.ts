/**
 * `cdk synth` of the reference app, as a user runs it, against `cdk synth` of an empty app in the
 * same run, which is the fixed cost of the CLI, tsx and aws-cdk-lib:
 * - dev, a developer's default synth (bundling + cdk-nag; cfn-guard's Control Tower rules off):
 *   target ≤ 2.5× the empty app;
 * - dev with `-c guard=true`, as `.ci/run` synthesises it, and prod (guard always on): reported.
 * Then the size and resource count of every template against CloudFormation's limits.
 *
 * Each synth writes to a fresh directory (no bundle is reused) and runs `BENCH_SYNTH_RUNS` times
 * (default 2), interleaved with the baseline; the best run counts, as load from other processes
 * only ever adds time.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BenchResult, BenchRow, result, row } from './support/result';

const ROOT = path.join(__dirname, '..');
/** A developer's default synth may cost at most this many empty-app synths. */
const DEV_SYNTH_MAX_RATIO = 2.5;
/** CloudFormation: template body uploaded through S3 (the CDK CLI uploads every template). */
const TEMPLATE_LIMIT_BYTES = 1_000_000;
const RESOURCE_LIMIT = 500;
const EMPTY_APP = "const { App, Stack } = require('aws-cdk-lib'); const app = new App(); new Stack(app, 'Empty'); app.synth();";

interface Synth {
  readonly seconds: number;
  readonly outdir: string;
}

function synth(args: string[]): Synth {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-bench-'));
  const env = { ...process.env };
  // The bench measures an account-agnostic synth, as `npx cdk synth` without credentials.
  delete env.CDK_DEFAULT_ACCOUNT;
  // CI=true turns the guard rules on (lib/stages.ts); the variants say explicitly what runs.
  delete env.CI;
  const started = performance.now();
  const run = spawnSync('npx', ['cdk', 'synth', '-q', '-o', outdir, ...args], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`cdk synth ${args.join(' ')} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return { seconds, outdir };
}

function best(runs: Synth[]): Synth {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

interface TemplateFacts {
  readonly stack: string;
  readonly bytes: number;
  readonly resources: number;
}

function templates(outdir: string): TemplateFacts[] {
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(outdir, file), 'utf8');
      return { stack: file.replace(/\.template\.json$/, ''), bytes: Buffer.byteLength(text), resources: Object.keys(JSON.parse(text).Resources ?? {}).length };
    });
}

/** Milliseconds per phase, from the counters aws-cdk-lib writes next to the assembly. */
function phases(outdir: string): Record<string, number> {
  const file = path.join(outdir, 'performance-counters.json');
  if (!fs.existsSync(file)) return {};
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { counters: Record<string, number> }).counters;
}

export default async function synthBench(): Promise<BenchResult> {
  const runs = Number(process.env.BENCH_SYNTH_RUNS ?? 2);
  const baseline: Synth[] = [];
  const variants: Record<string, { args: string[]; what: string }> = {
    dev: { args: ['-c', 'stage=dev'], what: 'bundling + cdk-nag, the default' },
    'dev -c guard=true': { args: ['-c', 'stage=dev', '-c', 'guard=true'], what: 'bundling + cdk-nag + cfn-guard, as .ci/run' },
    prod: { args: ['-c', 'stage=prod'], what: 'bundling + cdk-nag + cfn-guard' },
  };
  // BENCH_SYNTH_STAGES=dev (a comma list of the names above) re-measures only some of them.
  const wanted = process.env.BENCH_SYNTH_STAGES?.split(',').map((name) => name.trim());
  const stages: Record<string, Synth[]> = Object.fromEntries(Object.keys(variants).filter((name) => !wanted || wanted.includes(name)).map((name) => [name, []]));
  for (let i = 0; i < runs; i++) {
    baseline.push(synth(['--app', `npx tsx -e "${EMPTY_APP}"`]));
    for (const name of Object.keys(stages)) stages[name].push(synth(variants[name].args));
  }
  const empty = best(baseline);
  const rows: BenchRow[] = [];
  for (const [stage, stageRuns] of Object.entries(stages)) {
    const fastest = best(stageRuns);
    const gated = stage === 'dev';
    rows.push(
      row(`cdk synth -c stage=${stage} (${variants[stage].what}), best of ${runs}`, round1(fastest.seconds), 's', {
        baseline: { name: 'cdk synth of an empty app', value: round1(empty.seconds) },
        ...(gated ? { target: `≤ ${DEV_SYNTH_MAX_RATIO}× baseline`, pass: fastest.seconds <= DEV_SYNTH_MAX_RATIO * empty.seconds } : {}),
      }),
    );
    const counters = phases(fastest.outdir);
    for (const [phase, label] of [
      ['phase:Construction', 'construction (incl. bundling)'],
      ['bundle:NodejsFunction', 'esbuild bundling'],
      ['validateTemplates', 'validation plugins'],
    ] as const) {
      if (counters[phase] !== undefined) rows.push(row(`  ${stage}: ${label}`, counters[phase] / 1000, 's'));
    }
    if (stage === 'dev -c guard=true') continue; // the same templates as dev
    for (const t of templates(fastest.outdir)) {
      rows.push(
        row(`  ${t.stack}: template size`, t.bytes, 'bytes', {
          baseline: { name: 'CloudFormation limit via S3', value: TEMPLATE_LIMIT_BYTES },
          target: '≤ 1 MB',
          pass: t.bytes <= TEMPLATE_LIMIT_BYTES,
        }),
        row(`  ${t.stack}: resources`, t.resources, 'resources', {
          baseline: { name: 'CloudFormation limit', value: RESOURCE_LIMIT },
          target: `≤ ${RESOURCE_LIMIT}`,
          pass: t.resources <= RESOURCE_LIMIT,
        }),
      );
    }
  }
  for (const s of [...baseline, ...Object.values(stages).flat()]) fs.rmSync(s.outdir, { recursive: true, force: true });
  return result('synth', 'cdk synth wall time of the reference app against an empty app; template sizes and resource counts against CloudFormation limits', rows);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
