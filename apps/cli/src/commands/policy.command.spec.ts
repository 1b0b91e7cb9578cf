import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { runCli } from '../run-cli.js';
import { initConfig } from './init.command.js';
import { type CommandOutput, policyCheck, register } from './policy.command.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

function capture(): CommandOutput & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

describe('atom-gov policy check', () => {
  it('prints OK with counts and version for the example config and exits 0', async () => {
    const io = capture();
    const code = await policyCheck({ config: join(repo, 'examples/mcp-governance.yaml'), env: { HOME: tmpdir() } }, io);
    expect(code).toBe(0);
    expect(io.out).toMatch(/^OK: \S*examples\/mcp-governance\.yaml \(4 servers, 6 rules, version [0-9a-f]{12}\)\n$/);
    expect(io.err).toBe('');
  });

  it('accepts every seed example, printing the warnings', async () => {
    const io = capture();
    const code = await policyCheck(
      { config: join(repo, 'examples/seed/mcp-governance.yaml'), env: { HOME: tmpdir() } },
      io,
    );
    expect(code).toBe(0);
    expect(io.out).toMatch(/\(3 servers, 12 rules, version [0-9a-f]{12}\)/);
    expect(io.err).toContain("warning: operation group 'production_writes' is not defined");
  });

  it('prints each error as file:line:col  path  message and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-check-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'atom_gov:\n  globl: {}\n  policies:\n    rate_limit:\n      enforcement: strict\n');
    const io = capture();
    const code = await policyCheck({ config: file, env: { HOME: dir } }, io);
    expect(code).toBe(1);
    expect(io.out).toBe('');
    expect(io.err.split('\n').filter(Boolean)).toEqual([
      `${file}:2:3  atom_gov.globl  unknown key 'globl' (did you mean 'global'?)`,
      `${file}:5:20  atom_gov.policies.rate_limit.enforcement  invalid value 'strict': expected one of hard, soft, warn`,
    ]);
  });
});

describe('atom-gov policy check through the CLI runner', () => {
  it('sets exit code 1 for an invalid config and 0 for a valid one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-run-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'atom_gov:\n  servers: {}\n');
    const run = async (file: string) => {
      const program = new Command('atom-gov');
      register(program);
      const before = process.exitCode;
      const stderr = process.stderr.write;
      const stdout = process.stdout.write;
      let text = '';
      // Capture what a user would see on the terminal.
      process.stderr.write = process.stdout.write = ((chunk: string) => {
        text += chunk;
        return true;
      }) as typeof process.stderr.write;
      try {
        await runCli(program, ['node', 'atom-gov', 'policy', 'check', '--config', file]);
        return { code: process.exitCode ?? 0, text };
      } finally {
        process.stderr.write = stderr;
        process.stdout.write = stdout;
        process.exitCode = before;
      }
    };
    const invalid = await run(bad);
    expect(invalid.code).toBe(1);
    expect(invalid.text).toContain(`${bad}:2:12  atom_gov.servers  expected a list, got a map`);
    expect(invalid.text).toContain('atom-gov: the configuration is not valid');
    const valid = await run(join(repo, 'examples/mcp-governance.yaml'));
    expect(valid.code).toBe(0);
    expect(valid.text).toMatch(/^OK: /);
  });
});

describe('atom-gov init', () => {
  it('writes a starter config that passes policy check, and never overwrites without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-init-'));
    const path = initConfig({ env: { HOME: dir } });
    expect(path).toBe(join(dir, '.config/atom-sage/governance/mcp-governance.yaml'));
    const io = capture();
    expect(await policyCheck({ env: { HOME: dir } }, io)).toBe(0);
    expect(io.out).toMatch(/^OK: .*mcp-governance\.yaml \(0 servers, 0 rules, version [0-9a-f]{12}\)/);

    writeFileSync(path, 'atom_gov: {}\n# mine\n');
    expect(() => initConfig({ env: { HOME: dir } })).toThrow(`${path} already exists; pass --force to overwrite it`);
    expect(readFileSync(path, 'utf8')).toBe('atom_gov: {}\n# mine\n');
    initConfig({ env: { HOME: dir }, force: true });
    expect(readFileSync(path, 'utf8')).toContain('# ATOM-GOV configuration');

    const custom = initConfig({ config: join(dir, 'custom/gov.yaml'), env: { HOME: dir } });
    expect(custom).toBe(join(dir, 'custom/gov.yaml'));
    expect(await policyCheck({ config: custom, env: { HOME: dir } }, capture())).toBe(0);
  });
});
