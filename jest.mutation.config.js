/**
 * The jest config Stryker runs (`npm run test:mutation`): only the unit suites of the pure runtime
 * cores, which need no server. No globalSetup: the Redis/PostgreSQL harness must not start for each
 * of the thousands of mutants, and these suites cannot reach it anyway.
 * @type {import('jest').Config}
 */
const base = require('./jest.config');

module.exports = {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  moduleNameMapper: base.moduleNameMapper,
  roots: ['<rootDir>/test/lambda/runtime'],
  testMatch: [
    '**/runtime/keys.test.ts',
    '**/runtime/ttl.test.ts',
    '**/runtime/http/etag.test.ts',
    '**/runtime/http/cache-control.test.ts',
    '**/runtime/invalidation/templates.test.ts',
    '**/runtime/invalidation/cloudfront-paths.test.ts',
    '**/runtime/resources/resource.test.ts',
    '**/runtime/resources/resource-derivations.test.ts',
    '**/runtime/invalidation/messages.test.ts',
    '**/runtime/invalidation/split.test.ts',
    '**/runtime/invalidation/blast-radius.test.ts',
    '**/runtime/http/request.test.ts',
    '**/runtime/http/response.test.ts',
    '**/runtime/http/origin-verify.test.ts',
    '**/runtime/auth/claims.test.ts',
    '**/runtime/cache/envelope.test.ts',
    '**/runtime/cache/hash-slot.test.ts',
    '**/runtime/cache/circuit-breaker.test.ts',
    '**/runtime/cache/local-cache.test.ts',
    '**/runtime/cache/deadlines.test.ts',
    '**/runtime/cache/heap-size.test.ts',
    '**/runtime/db/origin-errors.test.ts',
    '**/runtime/errors.test.ts',
    '**/runtime/invalidation/env.test.ts',
  ],
  testTimeout: 60_000,
};
