// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';

/**
 * The layers, in the direction data flows. A layer may import from the layers after it, never
 * from the ones before it: http → sessions → catalog → upstream → runtime.
 */
const layers = ['http', 'sessions', 'catalog', 'upstream', 'runtime'];
const layerZones = layers.slice(1).map((layer, index) => ({
  target: `./src/${layer}`,
  from: layers.slice(0, index + 1).map(above => `./src/${above}`),
  message: `data flows http → sessions → catalog → upstream → runtime; ${layer} must not import from a layer above it`
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'data/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'dockerode', message: 'only src/runtime/docker-runtime.ts talks to Docker' }] }
      ],
      'no-console': 'error'
    }
  },
  {
    files: ['src/runtime/docker-*.ts'],
    rules: { 'no-restricted-imports': 'off' }
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**', '*.config.*', 'eslint.config.js'],
    rules: {
      'no-console': 'off',
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off'
    }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node }
  }
);
