/**
 * How tests run a TypeScript script in its own process: node itself with tsx as a loader, not the
 * `tsx` CLI. The CLI is a parent process that relays SIGTERM/SIGINT to its child and, when the child
 * does not acknowledge within ~30 ms (tsx's relaySignalToChild), SIGKILLs it and exits 128+15: on a
 * loaded machine a clean shutdown then looks like a crash. With the loader the signal reaches the
 * script itself, and the exit code is the script's own.
 */

/** The node binary running the tests. */
export const NODE = process.execPath;

/** node's arguments that run `script` (relative to the working directory) with tsx as the loader. */
export function tsxArgs(script: string, ...args: string[]): string[] {
  return ['--import', 'tsx', script, ...args];
}
