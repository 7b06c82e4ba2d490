// eslint (flat config) with typescript-eslint's type-checked rules; prettier owns the layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'tree/', 'chroot/', 'qemu/', 'stacks/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `await using _lock = …` holds a resource by a name nobody reads
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // node:test's test() and describe() return promises the runner awaits itself
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // terminal output is cleaned of control characters on purpose (boot console, names)
      'no-control-regex': 'off',
      // a closure reads it before the one assignment (the broker's server)
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  // the shape of the house: small functions and files in src/ (tests are long lists of cases)
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60 }],
      'max-lines': ['error', { max: 300 }],
    },
  },
  // fakes in tests are async to stand in for real async functions
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  { files: ['eslint.config.js', 'scripts/*.mjs', 'web/*.js'], ...tseslint.configs.disableTypeChecked },
  // the dashboard runs in the browser
  {
    files: ['web/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', window: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly', setInterval: 'readonly' },
    },
  },
  { files: ['scripts/*.mjs'], languageOptions: { globals: { process: 'readonly' } } },
);
