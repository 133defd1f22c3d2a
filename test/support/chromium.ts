/**
 * The headless Chromium browser tests drive: the binary the npm package `@sparticuz/chromium` ships
 * (unpacked to the temp dir on first use), so `npm test` needs nothing installed outside npm.
 * `CHROMIUM_PATH` points at another build (Debian's /usr/bin/chromium, say) when one is wanted.
 *
 * The package is ESM only and the tests run as CommonJS, so a short node process asks it for the
 * executable and its launch flags.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export interface ChromiumLaunch {
  readonly executablePath: string;
  readonly args: string[];
}

/** Flags every launch gets: this machine's network is closed, so Chromium must not call home. */
const OFFLINE_ARGS = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

export function headlessChromium(): ChromiumLaunch {
  if (process.env.CHROMIUM_PATH) {
    return { executablePath: process.env.CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', ...OFFLINE_ARGS] };
  }
  const script = "import chromium from '@sparticuz/chromium'; process.stdout.write(JSON.stringify({ executablePath: await chromium.executablePath(), args: chromium.args }));";
  const launch = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' })) as ChromiumLaunch;
  return { executablePath: launch.executablePath, args: [...launch.args, ...OFFLINE_ARGS] };
}
