/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: it runs inside Jest's require() */
// Jest loads globalSetup/globalTeardown through CommonJS `require` (transpiling .ts on the fly), where neither
// jest.config's moduleNameMapper nor our NodeNext conventions apply. Mirror them for the setup code:
//   './x.js'          -> './x.ts' when only the TypeScript source exists;
//   '@atom-gov/<name>' -> the workspace's src/index.ts (as in tests), not its possibly stale dist/.
const Module = require('node:module');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
function workspaceSource(name) {
  for (const dir of name === 'workflows' ? ['workflows'] : [join('libs', name), join('apps', name)]) {
    const entry = join(root, dir, 'src', 'index.ts');
    if (existsSync(entry)) return entry;
  }
  return undefined;
}

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, parent, ...rest) {
  const workspace = /^@atom-gov\/([a-z0-9-]+)$/.exec(request);
  const source = workspace && workspaceSource(workspace[1]);
  if (source) return source;
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js')) {
      return resolve.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
    }
    throw error;
  }
};
