// ESLint for the front end: the JupyterLab extension template's rules (flat config),
// type-aware through tsconfig.check.json (sources and Jest specs), Prettier as a rule.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import jupyterPlugin from '@jupyter/eslint-plugin';

export default defineConfig([
  {
    ignores: [
      'node_modules',
      'lib',
      'dist',
      'coverage',
      'jupyter_rpc',
      '.venv*',
      'ui-tests',
      '**/*.js',
      '**/*.mjs',
      '**/*.d.ts'
    ]
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  jupyterPlugin.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { jupyter: jupyterPlugin },
    languageOptions: {
      globals: { ...globals.browser, ...globals.es2015, ...globals.node },
      parserOptions: { project: 'tsconfig.check.json', sourceType: 'module' }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off',
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    // Jest specs: their strings are test data (schema titles, labels), not UI
    // text, and they define no plugins; the other rules still apply.
    files: ['src/**/__tests__/**'],
    rules: Object.fromEntries(
      Object.keys(jupyterPlugin.rules).map(name => [`jupyter/${name}`, 'off'])
    )
  },
  prettierRecommended
]);
