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
