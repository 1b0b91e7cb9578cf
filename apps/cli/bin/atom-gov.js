#!/usr/bin/env node
// The `atom-gov` command: runs the compiled CLI (build with `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('atom-gov: the CLI is not built yet. Run `npm run build` in the checkout first.\n');
  process.exit(2);
}
await import(main);
