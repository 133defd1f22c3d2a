/**
 * `npm run test:mutation [-- <stryker options>]`: runs Stryker (stryker.config.mjs), then fails when
 * any mutated file scores under the break threshold. Stryker's `thresholds.break` only judges the
 * total, so a well-tested large module could hide a weak small one; this judges each file.
 *
 *   npm run test:mutation                                   incremental, against reports/stryker-incremental.json
 *   npm run test:mutation -- --force                        every mutant again (rewrites the baseline)
 *   npm run test:mutation -- --mutate lambda/runtime/ttl.ts one module while working on its tests
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const REPORT = 'reports/mutation/mutation.json';
const BREAK_PERCENT = 90;

/** Stryker's mutation score: detected over valid mutants; ignored and non-compiling mutants do not count. */
interface FileScore {
  readonly file: string;
  readonly detected: number;
  readonly undetected: number;
  readonly ignored: number;
  /** Of the ignored: static mutants (module-level code), skipped by `ignoreStatic`. */
  readonly statics: number;
  /** Percent, or NaN when the file has no valid mutant. */
  readonly score: number;
}

interface Report {
  readonly files: Record<string, { readonly mutants: readonly { readonly status: string; readonly statusReason?: string }[] }>;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

function fileScores(report: Report): FileScore[] {
  return Object.entries(report.files)
    .map(([file, { mutants }]) => {
      const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
      const undetected = mutants.filter((m) => UNDETECTED.has(m.status)).length;
      const ignored = mutants.filter((m) => m.status === 'Ignored').length;
      const statics = mutants.filter((m) => m.status === 'Ignored' && /static mutant/i.test(m.statusReason ?? '')).length;
      return { file, detected, undetected, ignored, statics, score: (100 * detected) / (detected + undetected) };
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

function main(): number {
  // A report left by an earlier run must not pass for this one's.
  rmSync(REPORT, { force: true });
  const stryker = spawnSync('npx', ['stryker', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
  if (!existsSync(REPORT)) {
    process.stderr.write(`test:mutation: Stryker wrote no ${REPORT} (exit ${stryker.status})\n`);
    return 1;
  }
  const scores = fileScores(JSON.parse(readFileSync(REPORT, 'utf8')) as Report);
  process.stdout.write(`\nper-file mutation score (break at ${BREAK_PERCENT} %):\n`);
  for (const s of scores) {
    process.stdout.write(`  ${s.score.toFixed(2).padStart(6)} %  ${s.file}  (${s.detected} detected, ${s.undetected} undetected, ${s.ignored - s.statics} disabled, ${s.statics} static not run)\n`);
  }
  const weak = scores.filter((s) => s.score < BREAK_PERCENT);
  for (const s of weak) process.stderr.write(`test:mutation: ${s.file} scores ${s.score.toFixed(2)} %, under ${BREAK_PERCENT} %\n`);
  return weak.length > 0 || stryker.status !== 0 ? 1 : 0;
}

process.exitCode = main();
