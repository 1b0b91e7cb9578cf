// JSON Schemas for editors (yaml-language-server), generated from the same zod schemas the loader
// uses, so completion and validation never disagree. `npm run schema` writes them to schema/.
import { z } from 'zod';
import { configFileSchema, policyFileSchema } from './schema.js';

export const SCHEMA_FILES = {
  config: 'mcp-governance.schema.json',
  policy: 'policy.schema.json',
} as const;

function toJson(schema: z.ZodType, id: string): string {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any', reused: 'ref' });
  // Top-level `x-...` keys are allowed for shared YAML anchors (the loader drops them).
  const patternProperties = { '^x-': {} };
  return `${JSON.stringify({ ...json, $id: id, patternProperties }, null, 2)}\n`;
}

/** File name -> JSON text, as committed under schema/. */
export function jsonSchemas(): Record<string, string> {
  return {
    [SCHEMA_FILES.config]: toJson(configFileSchema, `https://atom-gov.dev/schema/${SCHEMA_FILES.config}`),
    [SCHEMA_FILES.policy]: toJson(policyFileSchema, `https://atom-gov.dev/schema/${SCHEMA_FILES.policy}`),
  };
}
