/**
 * `npm run test:stress [-- jest args]`: runs jest while two busy-loop processes keep both cores of
 * the machine busy, as on a shared CI runner. The loops check every few milliseconds that this
 * process still exists and exit when it does not, so they never outlive the run, even when it is
 * killed with SIGKILL; on a normal exit or a signal they are killed at once.
 */
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');

const BUSY_PROCESSES = Number(process.env.STRESS_PROCESSES || 2);
const busyLoop = `const parent = ${process.pid};
for (;;) {
  const until = Date.now() + 20;
  while (Date.now() < until);
  try { process.kill(parent, 0); } catch { process.exit(0); }
}`;

const burners = Array.from({ length: BUSY_PROCESSES }, () => spawn(process.execPath, ['-e', busyLoop], { stdio: 'ignore' }));

function stopBurners() {
  for (const burner of burners) {
    if (burner.exitCode === null && burner.signalCode === null) burner.kill('SIGKILL');
  }
}

process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopBurners();
    process.exit(128 + os.constants.signals[signal]);
  });
}

process.stderr.write(`test:stress: ${BUSY_PROCESSES} busy processes (${burners.map((b) => b.pid).join(', ')}) on ${os.cpus().length} CPUs\n`);
// --forceExit: a suite that leaves a handle open (jest then waits forever) must not keep both
// cores busy for the other users of the machine; the verdict is jest's all the same.
const args = process.argv.slice(2);
const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...(args.includes('--forceExit') ? [] : ['--forceExit']), ...args], { stdio: 'inherit' });
jest.on('exit', (code, signal) => {
  stopBurners();
  process.exit(code ?? 128 + (os.constants.signals[signal] || 1));
});
