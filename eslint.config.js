// ESLint flat config. Besides the usual TypeScript rules it holds the determinism guard: outside
// the real environment (src/env/node), the server, the client's socket code and the command-line
// tools, nothing may read the clock, draw real randomness, set timers or touch files and sockets.
// Those must come through src/env so the simulator can replace them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nondeterministicGlobals = ['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'performance', 'queueMicrotask'].map((name) => ({
  name,
  message: `${name} is nondeterministic: use the Clock from src/env (the simulator replaces it).`,
}));

const nondeterministicModules = ['fs', 'fs/promises', 'net', 'dgram', 'timers', 'timers/promises', 'child_process', 'http', 'http2', 'https', 'tls', 'worker_threads', 'perf_hooks', 'crypto'].flatMap((m) => [
  { name: m, message: `${m} is I/O or nondeterminism: go through the Disk, Transport, Clock or Random seam in src/env.` },
  { name: `node:${m}`, message: `node:${m} is I/O or nondeterminism: go through the Disk, Transport, Clock or Random seam in src/env.` },
]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bulwark/**', 'tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The determinism guard.
    files: ['src/**/*.ts'],
    ignores: [
      'src/env/node/**',
      'src/server/**',
      'src/cli/**',
      'src/transport/**',
      'src/api/**',
      'src/lb/**',
      'src/chaos/**',
      'src/bench/**',
      'src/client/node-*.ts',
      'src/**/*.test.ts',
    ],
    rules: {
      'no-restricted-globals': ['error', ...nondeterministicGlobals],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Math.random is not seeded: use the Random from src/env.' }],
      'no-restricted-imports': ['error', { paths: nondeterministicModules }],
    },
  },
  {
    // No focused tests: a stray `.only` silently skips the rest of the suite.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'test', property: 'only', message: 'no .only in tests' },
        { object: 'it', property: 'only', message: 'no .only in tests' },
        { object: 'describe', property: 'only', message: 'no .only in tests' },
        { object: 'suite', property: 'only', message: 'no .only in tests' },
      ],
      'no-restricted-syntax': ['error', { selector: "Property[key.name='only'][value.value=true]", message: 'no { only: true } in tests' }],
    },
  },
);
