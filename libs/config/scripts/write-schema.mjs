// Writes schema/*.schema.json from the built @atom-gov/config (run through `npm run schema`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from '../dist/json-schema.js';

const dir = fileURLToPath(new URL('../../../schema/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(jsonSchemas())) {
  writeFileSync(new URL(name, `file://${dir}`), text);
  process.stdout.write(`wrote schema/${name}\n`);
}
