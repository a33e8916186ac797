import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist', 'data', 'coverage', 'node_modules', '.bench-build', 'bench/.data'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: [
      'test/**',
      'bench/**',
      'scripts/**',
      'src/main.ts',
      'src/cli.ts',
      'src/projector.ts',
    ],
    rules: { 'no-console': 'off' },
  },
);
