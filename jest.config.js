/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testPathIgnorePatterns: ['/node_modules/', '/cdk.out/'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  // The package's public runtime entry, resolved to its source as tsconfig's paths do.
  moduleNameMapper: { '^cache-pyramid/runtime$': '<rootDir>/lambda/runtime/index.ts', '^cache-pyramid/testing$': '<rootDir>/lib/testing/index.ts', '^cache-pyramid$': '<rootDir>/lib/index.ts' },
  testTimeout: 60_000,
  // Suites start their own Redis/PostgreSQL servers; two cores run two suites at a time well.
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
