import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'console',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'querystring',
  'readline',
  'repl',
  'stream',
  'string_decoder',
  'timers',
  'tls',
  'tty',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];
const ioPackages = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  'typeorm',
  'pg',
  'better-sqlite3',
  'ioredis',
  'redis',
  'nodemailer',
  '@slack/*',
  'axios',
  'undici',
  '@modelcontextprotocol/*',
  '@atom-gov/audit',
  '@atom-gov/config',
  '@atom-gov/mcp',
  '@atom-gov/gateway',
  '@atom-gov/worker',
  '@atom-gov/cli',
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'apps/cli/bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
  {
    files: ['workflows/src/**/*.ts'],
    ignores: ['workflows/src/**/*.spec.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.flatMap((m) => [
            { name: m, message: 'Workflow code must be deterministic: no Node built-ins in workflows/.' },
            { name: `node:${m}`, message: 'Workflow code must be deterministic: no Node built-ins in workflows/.' },
          ]),
          patterns: [{ group: ioPackages, message: 'Workflow code must not do I/O: call an activity instead.' }],
        },
      ],
    },
  },
);
