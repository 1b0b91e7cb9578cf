// One Jest project for the whole workspace. ESM throughout (NestJS 12 is ESM-only), TypeScript via
// @swc/jest so decorator metadata works; workspace packages resolve to their sources.
const swc = {
  swcrc: false,
  sourceMaps: 'inline',
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    target: 'es2022',
    keepClassNames: true,
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
  },
  module: { type: 'es6' },
};

const workspaces = {
  contracts: 'libs/contracts',
  config: 'libs/config',
  audit: 'libs/audit',
  mcp: 'libs/mcp',
  policy: 'libs/policy',
  pii: 'libs/pii',
  limits: 'libs/limits',
  notify: 'libs/notify',
  'governance-client': 'libs/governance-client',
  testing: 'libs/testing',
  devserver: 'libs/devserver',
  pinning: 'libs/pinning',
  metrics: 'libs/metrics',
  reports: 'libs/reports',
  workflows: 'workflows',
  gateway: 'apps/gateway',
  worker: 'apps/worker',
  cli: 'apps/cli',
  slackbot: 'apps/slackbot',
};

export default {
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    ...Object.fromEntries(
      Object.entries(workspaces).map(([name, dir]) => [`^@atom-gov/${name}$`, `<rootDir>/${dir}/src/index.ts`]),
    ),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: [
    '<rootDir>/{apps,libs}/*/src/**/*.spec.ts',
    '<rootDir>/workflows/src/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker's exit after its last file is V8 freeing its heap (perf: Isolate::Delete -> Heap::TearDown, 100-300 ms
  // CPU with these module graphs), 450-900 ms on a loaded 2-core machine: past Jest's default 500 ms, Jest killed
  // workers whose event loop was already empty and reported "tests leaking due to improper teardown". A worker that
  // really keeps a handle open is still killed and reported, after this long.
  workerGracefulExitTimeout: 5_000,
};
