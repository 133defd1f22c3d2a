/**
 * AWS SDK clients loaded on first use. Loading an SDK v3 client package costs a fresh Node process
 * about 90 ms of CPU (the shared Smithy core, then ~10 ms per further client); a sandbox that never
 * sends, such as one that only serves reads, should not pay it in its cold start
 * (docs/benchmarks.md, cold-start).
 */

/** Anything with the SDK v3 `send(command)` shape. */
interface Sender {
  send(command: never): Promise<unknown>;
}

/**
 * A stand-in for the client `create()` builds, which is called (and its package loaded) at the first
 * `send`. A failed creation is retried by the next `send`.
 */
export function lazyClient<C extends Sender>(create: () => Promise<C>): Pick<C, 'send'> {
  let client: Promise<C> | undefined;
  const send = async (command: never): Promise<unknown> => {
    client ??= create().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return (await client).send(command);
  };
  return { send } as Pick<C, 'send'>;
}

/*
 * The SDK packages, required when first called. `require`, not `import()`: esbuild leaves an
 * external `import()` as a real ES import, which would load the packages' ES build, a second copy
 * beside the CommonJS one everything else (and aws-sdk-client-mock) uses.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const loadSecretsManager = (): typeof import('@aws-sdk/client-secrets-manager') => require('@aws-sdk/client-secrets-manager');
export const loadEventBridge = (): typeof import('@aws-sdk/client-eventbridge') => require('@aws-sdk/client-eventbridge');
export const loadSqs = (): typeof import('@aws-sdk/client-sqs') => require('@aws-sdk/client-sqs');
/* eslint-enable @typescript-eslint/no-require-imports */
