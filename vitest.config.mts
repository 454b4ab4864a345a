import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * `@signoff/<name>` is a lib's barrel (libs/<name>/src/index.ts) or an app's entry
 * (apps/<name>/src/index.ts); `@signoff/<name>/testing` is its test kit (src/testing/index.ts);
 * `@signoff/<name>/<entry>` one of a lib's extra entries (src/<entry>/index.ts, SUB_ENTRIES).
 * The same resolution as tsconfig.json's `paths` and tools/register.cjs.
 */
/** A lib's extra entries (`@signoff/client/ai-sdk`), as tsconfig.json's `paths` declare them. */
const SUB_ENTRIES: Record<string, string[]> = { client: ['openai-agents', 'ai-sdk'] };

const entries = ['apps', 'libs'].flatMap((dir) =>
  fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => [
      { find: `@signoff/${d.name}/testing`, replacement: path.join(root, dir, d.name, 'src/testing/index.ts') },
      ...(SUB_ENTRIES[d.name] ?? []).map((sub) => ({ find: `@signoff/${d.name}/${sub}`, replacement: path.join(root, dir, d.name, 'src', sub, 'index.ts') })),
      { find: `@signoff/${d.name}`, replacement: path.join(root, dir, d.name, 'src/index.ts') },
    ]),
);

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
    alias: entries.map(({ find, replacement }) => ({ find: new RegExp(`^${find}$`), replacement })),
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
