// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers, in the direction data flows. A layer may import from the layers after it, never
 * from the ones before it: http → sessions → catalog → upstream → connectors → runtime. Only the Docker
 * runtime module may import dockerode. Both are `no-restricted-imports` rules, so each layer's
 * block carries the dockerode rule too (a later block replaces a rule's options, it does not
 * merge them).
 */
const layers = ['http', 'sessions', 'catalog', 'upstream', 'connectors', 'runtime'];
const dockerode = { name: 'dockerode', message: 'only src/runtime/docker-runtime.ts talks to Docker' };
const layerBlocks = layers.map((layer, index) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [dockerode],
        patterns: layers.slice(0, index).map(above => ({
          group: [`../${above}/*`, `../../${above}/*`],
          message: `data flows http → sessions → catalog → upstream → connectors → runtime; ${layer} must not import from ${above}`
        }))
      }
    ]
  }
}));

/**
 * The modules every layer uses sit below them all: config (parsed settings), then store (the
 * state database), then auth (principals, verifiers, which reads the store and may use the
 * catalog's pure glob). None of them imports a layer that uses it.
 */
const everyLayer = [...layers, 'store', 'auth'];
const baseBlocks = Object.entries({
  config: everyLayer,
  store: [...layers, 'auth'],
  auth: ['http', 'sessions', 'upstream', 'connectors', 'runtime']
}).map(([base, above]) => ({
  files: [`src/${base}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [dockerode],
        patterns: above.map(layer => ({
          group: [`../${layer}/*`, `../../${layer}/*`],
          message: `${base} sits below ${layer}, which uses it; move what ${base} needs below it`
        }))
      }
    ]
  }
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'data/', 'coverage/', 'test-results/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [dockerode] }],
      'no-console': 'error'
    }
  },
  ...layerBlocks,
  ...baseBlocks,
  {
    files: ['src/runtime/docker-runtime.ts'],
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
  },
  {
    // The dashboard's page runs in the browser.
    files: ['src/http/ui/static/**/*.js'],
    languageOptions: { globals: globals.browser }
  }
);
