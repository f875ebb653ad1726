/** Tests are transpiled by swc (no type-check); `npm run typecheck` runs tsc separately. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.tsx?$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  setupFiles: ["<rootDir>/__tests__/setup-env.ts"],
  globalSetup: "<rootDir>/__tests__/global-setup.cjs",
  testTimeout: 60000,
  // Most suites wait on child processes and local servers; two workers overlap that waiting.
  maxWorkers: 2,
};
