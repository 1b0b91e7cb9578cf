// Table-driven policy test files (`atom-gov policy test FILE...`): YAML read and validated here, because this
// package is the only one that reads YAML. The policy engine runs the cases.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { expandHome } from './runtime.js';
import { validateDoc } from './validate.js';
import { parseYamlFile, positionOf } from './yaml-source.js';

const stringOrList = z.union([z.string(), z.array(z.string())]);

export const policyTestFileSchema = z
  .strictObject({
    config: z.string().optional().meta({ description: 'Config file to test, relative to this file' }),
    cases: z
      .array(
        z.strictObject({
          name: z.string(),
          given: z.strictObject({
            server: z.string(),
            tool: z.string().optional(),
            method: z.string().optional(),
            user: z.string().optional(),
            tenant: z.string().optional(),
            roles: stringOrList.optional(),
            args: z.record(z.string(), z.unknown()).optional(),
            resource_uris: z.array(z.string()).optional(),
            at: z.string().optional().meta({ description: 'ISO time, e.g. 2026-03-30T08:30:00Z' }),
            local: z.boolean().optional(),
            transport: z.enum(['http', 'stdio']).optional(),
          }),
          expect: z.strictObject({
            effect: z.enum(['allow', 'deny', 'governed']),
            rules: z.array(z.string()).optional(),
            reason_contains: z.string().optional(),
            would_deny: z.boolean().optional(),
          }),
        }),
      )
      .min(1, 'list at least one case'),
  })
  .meta({ title: 'ATOM-GOV policy test file' });

export type RawPolicyTestFile = z.infer<typeof policyTestFileSchema>;

export interface PolicyTestCase {
  name: string;
  /** Where the case starts, for failure messages. */
  line: number;
  given: RawPolicyTestFile['cases'][number]['given'];
  expect: RawPolicyTestFile['cases'][number]['expect'];
}

export interface PolicyTestFile {
  file: string;
  /** Absolute path of `config:` when the file names one. */
  configPath?: string;
  cases: PolicyTestCase[];
}

/** Reads one test file; throws ConfigError with file:line:col issues when it is not valid. */
export async function loadPolicyTestFile(file: string): Promise<PolicyTestFile> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        file: abs,
        line: 1,
        column: 1,
        path: '',
        message: code === 'ENOENT' ? 'policy test file not found' : `cannot read policy test file (${code})`,
        severity: 'error',
      },
    ]);
  }
  const parsed = parseYamlFile(abs, text);
  const src = parsed.docs[0];
  if (parsed.issues.some((i) => i.severity === 'error') || !src) {
    throw new ConfigError(
      parsed.issues.length > 0
        ? parsed.issues
        : [{ file: abs, line: 1, column: 1, path: '', message: 'empty policy test file', severity: 'error' }],
    );
  }
  const v = validateDoc(policyTestFileSchema, src, src.value);
  if (!v.ok) throw new ConfigError(v.issues);
  return {
    file: abs,
    ...(v.data.config !== undefined ? { configPath: resolve(dirname(abs), expandHome(v.data.config)) } : {}),
    cases: v.data.cases.map((c, i) => ({
      name: c.name,
      line: positionOf(src, ['cases', i]).line,
      given: c.given,
      expect: c.expect,
    })),
  };
}
