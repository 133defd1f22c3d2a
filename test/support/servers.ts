/** The real-server harness lives in the package (`cache-pyramid/testing`, lib/testing/servers.ts); the repository's tests use it from there. */
export * from '../../lib/testing/servers';
