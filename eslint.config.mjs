import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'out-*/**', 'node_modules/**', 'media/**', 'dist/**', '.test-output/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // The house's boundaries (docs/architecture.md): the extension and the webviews talk to the trainer
  // only through src/protocol; the trainer and the protocol run without VS Code; the protocol is pure.
  {
    files: ['src/extension/**/*.ts', 'webviews/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/trainer', '**/trainer/**', '!**/trainerClient', '!**/trainerService'], message: 'The extension and the webviews reach the trainer through src/protocol (requests, events), never by importing src/trainer.' }] }],
    },
  },
  {
    files: ['src/trainer/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'src/trainer is plain Node (the CLI and the child process run it without VS Code).' }] }],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['vscode', 'path', 'node:path', 'fs', 'node:fs'].map((name) => ({ name, message: 'src/protocol holds shapes only: no host policy, no I/O (it is bundled into the webviews too).' })),
        patterns: [{ group: ['**/trainer/**', '**/extension/**', '**/trainer', '**/extension'], message: 'src/protocol depends on nothing of the product.' }],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', window: 'readonly', document: 'readonly', acquireVsCodeApi: 'readonly', performance: 'readonly', requestAnimationFrame: 'readonly' } },
  },
);
