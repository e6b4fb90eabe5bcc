// Lint rules for the workspace. Security and style lessons are rules whose message states the lesson.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.warden/**', 'coverage/**', '**/test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.ts', 'packages/*/bin/*.js'] } },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportAllDeclaration',
          message: 'Each index.ts lists its public API explicitly: name what you export instead of `export *`.',
        },
        {
          selector: 'ExportDefaultDeclaration',
          message: 'Named exports only, so a symbol has one name everywhere.',
        },
        {
          selector: "MemberExpression[object.name='Math'][property.name='random']",
          message: 'Math.random is predictable: use node:crypto (randomBytes, randomUUID, randomInt).',
        },
      ],
      'no-console': 'error',
      // fastify handlers and hooks are async by contract; an async function without await is fine there.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript (config, the bin launcher) is not type-checked.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
  {
    // Plain ESM scripts (the demo) are not type-checked and print to the terminal.
    files: ['packages/*/scripts/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false, program: null },
      globals: { process: 'readonly', URL: 'readonly', Buffer: 'readonly', console: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.test.ts', '**/*.bench.ts', '**/src/testing/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
