import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * Three tiers (see README, "Tests"):
 * - unit: pure code, no I/O, no infrastructure;
 * - int:  a real Nest module or adapter against a real store / broker;
 * - e2e:  the real services as processes on the real Kafka broker and PostgreSQL.
 * The int and e2e tiers share one Kafka broker and one PostgreSQL cluster started by
 * test/support/global-setup.ts and stopped when the run ends.
 */
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        keepClassNames: true,
      },
    }),
  ],
  resolve: {
    alias: [
      // A lib's test kit first: `@signoff/<lib>/testing` is libs/<lib>/src/testing/index.ts.
      { find: /^@signoff\/([^/]+)\/testing$/, replacement: path.join(root, 'libs/$1/src/testing/index.ts') },
      { find: /^@signoff\/(.*)$/, replacement: path.join(root, 'libs/$1/src/index.ts') },
    ],
  },
  test: {
    root,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['{apps,libs,test}/**/*.unit.spec.ts', 'deploy/**/*.unit.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: ['{apps,libs,deploy}/**/*.int.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
