/**
 * `npm run bench [-- name…]`: runs every `bench/<name>.bench.ts` (or the named ones), writes each
 * result to `bench/results/<name>.json` and prints one table. Every figure is a ratio against a
 * baseline measured in the same run, never an absolute time judged alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchResult, formatTable } from './support/result';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
    .sort();
  if (files.length === 0) throw new Error(`no benchmark matches ${wanted.join(', ')}`);
  const results: BenchResult[] = [];
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  for (const file of files) {
    const name = file.replace(/\.bench\.ts$/, '');
    process.stderr.write(`running ${name}…\n`);
    const mod = (await import(path.join(__dirname, file))) as { default: () => Promise<BenchResult> };
    const result = await mod.default();
    results.push(result);
    fs.writeFileSync(path.join(__dirname, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  }
  process.stdout.write(formatTable(results) + '\n');
  const failed = results.flatMap((r) => r.rows.filter((row) => row.pass === false).map((row) => `${r.name}: ${row.metric}`));
  if (failed.length > 0) {
    process.stderr.write(`targets missed:\n  ${failed.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
