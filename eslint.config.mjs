import fs from 'node:fs';
import tseslint from 'typescript-eslint';

const dirs = (root) =>
  fs
    .readdirSync(new URL(`./${root}/`, import.meta.url), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
const APPS = dirs('apps');
const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// A lib's extra entries (src/<entry>/index.ts), as tsconfig.json's `paths` declare them.
const SUB_ENTRIES = ['client/openai-agents', 'client/ai-sdk'];
const oneOf = (names) => `(${names.map(escape).join('|')})`;

// What no file may import: a lib's or app's files past its entry.
const everywhere = [
  { group: ['**/libs/*/src/*', '../../libs/**'], message: 'Import a library through its barrel: @signoff/<name>.' },
  {
    regex: `^@signoff/(?!${oneOf(SUB_ENTRIES)}$)[^/]+/(?!testing$).+`,
    message: 'Import a lib or app through its entry: @signoff/<name> (test kits: @signoff/<name>/testing; extra entries: SUB_ENTRIES).',
  },
];
// An app's files reached by a relative path from outside it (tests, tools, deploy, libs).
const intoApps = { regex: `^(\\.\\./)+apps/${oneOf(APPS)}(/|$)`, message: "Import an app through its entry: @signoff/<app> (test kits: @signoff/<app>/testing)." };
// An app reaching into another app's folder by a relative path.
const intoOtherApp = (app) => ({
  regex: `^(\\.\\./)+(apps/)?${oneOf(APPS.filter((a) => a !== app))}/`,
  message: "An app never imports another app's files: use its entry @signoff/<app> (or move shared code to a lib).",
});
// Libraries sit under the apps: nothing of an app, by entry or by path.
const libsToApps = [
  { regex: `^@signoff/${oneOf(APPS)}(/|$)`, message: 'A library never imports an app: move what both need into a lib.' },
  { regex: '^(\\.\\./)+apps/', message: 'A library never imports an app: move what both need into a lib.' },
];
// Test kits are for specs, other test kits, test/ and benchmarks, never for production code.
const noTestKits = { group: ['@signoff/*/testing'], message: 'Production code never imports a test kit (@signoff/<name>/testing).' };

const restrict = (...patterns) => ({ rules: { 'no-restricted-imports': ['error', { patterns }] } });
const TEST_FILES = ['**/*.spec.ts', '**/testing/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.signoff/**', 'tools/**/*.cjs', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  // The last matching block sets the rule: each block lists every pattern of its files.
  { files: ['**/*.ts', '**/*.mts'], ...restrict(...everywhere, intoApps) },
  ...APPS.flatMap((app) => [
    { files: [`apps/${app}/**/*.ts`], ...restrict(...everywhere, intoOtherApp(app)) },
    { files: [`apps/${app}/**/*.ts`], ignores: TEST_FILES, ...restrict(...everywhere, intoOtherApp(app), noTestKits) },
  ]),
  { files: ['libs/**/*.ts'], ...restrict(...everywhere, ...libsToApps) },
  { files: ['libs/**/*.ts'], ignores: TEST_FILES, ...restrict(...everywhere, ...libsToApps, noTestKits) },
);
