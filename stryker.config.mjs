// Mutation testing of the runtime's pure cores (docs/testing.md). `npm run test:mutation` runs it
// through scripts/mutation.ts, which also fails when any one mutated file scores under 90 %
// (Stryker's own `break` threshold only looks at the total).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    // Only the server-free unit suites, with no globalSetup: see the file.
    configFile: 'jest.mutation.config.js',
  },
  mutate: [
    'lambda/runtime/keys.ts',
    'lambda/runtime/ttl.ts',
    'lambda/runtime/http/etag.ts',
    'lambda/runtime/http/cache-control.ts',
    'lambda/runtime/invalidation/templates.ts',
    'lambda/runtime/invalidation/cloudfront-paths.ts',
    'lambda/runtime/resources/resource.ts',
    'lambda/runtime/invalidation/split.ts',
    'lambda/runtime/invalidation/limits.ts',
    'lambda/runtime/invalidation/blast-radius.ts',
    'lambda/runtime/invalidation/messages.ts',
    'lambda/runtime/http/request.ts',
    'lambda/runtime/http/response.ts',
    'lambda/runtime/http/origin-verify.ts',
    'lambda/runtime/auth/claims.ts',
    'lambda/runtime/cache/hash-slot.ts',
    'lambda/runtime/cache/envelope.ts',
    'lambda/runtime/cache/circuit-breaker.ts',
    'lambda/runtime/cache/local-cache.ts',
    'lambda/runtime/cache/heap-size.ts',
    'lambda/runtime/cache/deadlines.ts',
    'lambda/runtime/db/origin-errors.ts',
    'lambda/runtime/errors.ts',
    'lambda/runtime/invalidation/env.ts',
  ],
  // Each mutant runs only the tests that reach it.
  coverageAnalysis: 'perTest',
  // A static mutant (module-level code: constant tables, regexes, limits) is reached by no test in
  // particular, so it runs every related suite: with 22 modules that was 14 % of the mutants and, by
  // Stryker's estimate, 86 % of the time (over an hour here). They are not run; scripts/mutation.ts
  // counts them per file ("static not run"). The unit suites still pin those constants.
  ignoreStatic: true,
  // The machine is shared by several sessions: two test processes at most.
  concurrency: 2,
  // Loaded machines stretch runs; a mutant is a timeout only well past its test's normal time.
  timeoutMS: 20_000,
  timeoutFactor: 3,
  // Only mutants in code changed since the committed baseline are run; the others keep their result.
  // `npm run test:mutation -- --force` mutates everything and rewrites the baseline.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  thresholds: { high: 95, low: 90, break: 90 },
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, reportTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: ['cdk.out', 'dist', 'coverage', '.test-servers', 'bench/results', 'reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
