/*
 * Runs the TypeScript sources directly: compiles each .ts file with SWC (decorators and their
 * metadata included, which NestJS's dependency injection needs) and resolves the `@signoff/<name>`
 * entries as tsconfig.json's `paths` and vitest.config.mts do: a lib's barrel
 * (libs/<name>/src/index.ts), an app's entry (apps/<name>/src/index.ts), and either's test kit
 * (`@signoff/<name>/testing` = <dir>/src/testing/index.ts), and a lib's extra entries
 * (`@signoff/client/ai-sdk` = libs/client/src/ai-sdk/index.ts). The compiled output is cached by content hash.
 */
'use strict';
require('./node-runtime.cjs').assertSupportedRuntime();
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const Module = require('node:module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'signoff-swc');
fs.mkdirSync(cacheDir, { recursive: true });

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolve(request, parent, ...rest) {
  const entry = /^@signoff\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(request);
  if (entry) {
    const [, name, sub] = entry;
    const dir = fs.existsSync(path.join(root, 'apps', name)) ? 'apps' : 'libs';
    // `@signoff/<name>/<entry>`: a test kit (testing) or a lib's extra entry (src/<entry>/index.ts).
    const file = path.join(root, dir, name, 'src', ...(sub ? [sub] : []), 'index.ts');
    if (!sub || fs.existsSync(file)) return file;
  }
  return originalResolve.call(this, request, parent, ...rest);
};

const swcOptions = {
  sourceMaps: 'inline',
  module: { type: 'commonjs' },
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
};
const optionsKey = JSON.stringify(swcOptions) + require('@swc/core/package.json').version;

require.extensions['.ts'] = function compile(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha256').update(optionsKey).update(filename).update(source).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  let code;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    code = swc.transformSync(source, { ...swcOptions, filename }).code;
    const tmp = cached + '.' + process.pid + '.tmp';
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  }
  module._compile(code, filename);
};
