import * as nodeOs from 'node:os';

/** One measured figure, its baseline from the same run, and the target it is held to. */
export interface BenchRow {
  /** What was measured, e.g. `handler GET from Redis, p50`. */
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, with its own name. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** value / baseline.value, when a baseline exists. */
  readonly ratio?: number;
  /** The target in words, e.g. `≤ 1.5× baseline`. */
  readonly target?: string;
  /** Whether the target was met (undefined when there is no target). */
  readonly pass?: boolean;
}

export interface BenchResult {
  readonly name: string;
  readonly description: string;
  readonly measuredAt: string;
  readonly machine: string;
  readonly rows: BenchRow[];
}

export function row(metric: string, value: number, unit: string, extra: Partial<Omit<BenchRow, 'metric' | 'value' | 'unit'>> = {}): BenchRow {
  const ratio = extra.baseline && extra.baseline.value !== 0 ? value / extra.baseline.value : extra.ratio;
  return { metric, value, unit, ...extra, ratio };
}

export function result(name: string, description: string, rows: BenchRow[]): BenchResult {
  const os = nodeOs;
  return {
    name,
    description,
    measuredAt: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    rows,
  };
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function fmt(n: number | undefined, digits = 3): string {
  if (n === undefined || Number.isNaN(n)) return '';
  return Number.isInteger(n) ? String(n) : n.toPrecision(digits);
}

/** A Markdown table of every row of every result, for the README. */
export function formatTable(results: BenchResult[]): string {
  const lines = ['| benchmark | metric | value | baseline | ratio | target | met |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of results) {
    for (const x of r.rows) {
      const baseline = x.baseline ? `${x.baseline.name}: ${fmt(x.baseline.value)} ${x.unit}` : '';
      const met = x.pass === undefined ? '' : x.pass ? 'yes' : '**no**';
      lines.push(`| ${r.name} | ${x.metric} | ${fmt(x.value)} ${x.unit} | ${baseline} | ${x.ratio === undefined ? '' : fmt(x.ratio) + '×'} | ${x.target ?? ''} | ${met} |`);
    }
  }
  return lines.join('\n');
}
