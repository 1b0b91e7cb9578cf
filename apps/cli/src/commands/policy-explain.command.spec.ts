// `atom-gov policy explain` and `atom-gov policy test` (rendering and exit codes).
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { CliError, runCli } from '../run-cli.js';
import { type CommandOutput, policyCheck, policyExplain, policyTest, register } from './policy.command.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const env = { HOME: tmpdir(), PATH: process.env.PATH };

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

describe('atom-gov policy explain', () => {
  it('prints the decision, the matched rules with why and the others with why not', async () => {
    const io = capture();
    const code = await policyExplain(
      {
        config: join(repo, 'examples/seed/mcp-governance.yaml'),
        server: 'perplexity_mcp',
        tool: 'research.deep',
        user: 'alice',
        at: '2026-03-30T10:00:00Z',
        env,
      },
      io,
    );
    expect(code).toBe(0);
    const lines = io.out.split('\n');
    expect(lines[0]).toBe('Call: tools/call perplexity_mcp/research.deep as default/alice at 2026-03-30T10:00:00.000Z');
    expect(lines[1]).toBe('Decision: governed (policy perplexity_mcp.resource_limit)');
    expect(io.out).toContain('  rate limit: 100 per 1h per user, burst 10, sliding, hard (research_rate_limit)');
    expect(io.out).toMatch(
      /\n {2}\+ research_rate_limit \(examples\/seed\/policies\/06-rate-limiting\.yaml:2\) {2}obligation: mcp_server perplexity_mcp; operation research\.\*: rate limit 100\/hour per user burst 10 \(hard\); audit summary\n/,
    );
    expect(io.out).toContain('\nNot matched:\n');
    expect(io.out).toContain('  - production_deployment: server perplexity_mcp is not cloudflare_mcp\n');
  });

  it('prints an actionable denial', async () => {
    const io = capture();
    await policyExplain(
      {
        config: join(repo, 'examples/policy-tests/office-hours.yaml'),
        server: 'filesystem',
        tool: 'write_file',
        at: '2026-03-28T10:00:00Z',
        env,
      },
      io,
    );
    expect(io.out).toContain(
      '  message: Denied by policy office_hours: outside allowed hours Mon-Fri 09:00-18:00 Europe/Berlin; call again within Mon-Fri 09:00-18:00 Europe/Berlin\n',
    );
  });

  it('rejects bad input with a message that says how to fix it', async () => {
    const config = join(repo, 'examples/mcp-governance.yaml');
    await expect(policyExplain({ config, server: 'nope', env }, capture())).rejects.toThrow(
      "unknown server 'nope': configured servers are everything, filesystem, memory, everything_http",
    );
    await expect(policyExplain({ config, server: 'memory', args: '{bad', env }, capture())).rejects.toBeInstanceOf(
      CliError,
    );
    await expect(policyExplain({ config, server: 'memory', at: 'tomorrow', env }, capture())).rejects.toThrow(
      "--at 'tomorrow' is not a time",
    );
  });
});

describe('atom-gov policy test', () => {
  it('passes the shipped examples (exit 0)', async () => {
    const io = capture();
    const code = await policyTest(
      [
        join(repo, 'examples/policy-tests/example.policy-test.yaml'),
        join(repo, 'examples/policy-tests/office-hours.policy-test.yaml'),
      ],
      { env },
      io,
    );
    expect(io.out).toContain('  PASS writing a file waits for an approver\n');
    expect(io.out).toMatch(/\n14 passed, 0 failed\n$/);
    expect(code).toBe(0);
  });

  it('prints what differed and exits 1 when a case fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-policy-test-'));
    const file = join(dir, 'failing.policy-test.yaml');
    writeFileSync(
      file,
      `config: ${join(repo, 'examples/mcp-governance.yaml')}
cases:
  - name: reading is allowed
    given: { server: filesystem, tool: read_text_file }
    expect: { effect: allow }
  - name: wrong expectation
    given: { server: filesystem, tool: write_file }
    expect: { effect: allow, rules: [nonexistent] }
`,
    );
    const io = capture();
    expect(await policyTest([file], { env }, io)).toBe(1);
    expect(io.out).toContain('  PASS reading is allowed\n');
    expect(io.out).toContain(`  FAIL wrong expectation (${file}:6)\n`);
    expect(io.out).toContain('       expected effect allow, got governed\n');
    expect(io.out).toContain('       expected rule nonexistent among the deciding rules');
    expect(io.out).toMatch(/1 passed, 1 failed\n$/);

    // Through commander: the exit code reaches the process.
    const program = new Command('atom-gov');
    register(program);
    const before = process.exitCode;
    const stderr = process.stderr.write;
    const stdout = process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await runCli(program, ['node', 'atom-gov', 'policy', 'test', file]);
      expect(process.exitCode).toBe(1);
      process.exitCode = 0;
      await runCli(program, [
        'node',
        'atom-gov',
        'policy',
        'test',
        join(repo, 'examples/policy-tests/office-hours.policy-test.yaml'),
      ]);
      expect(process.exitCode).toBe(0);
    } finally {
      process.stderr.write = stderr;
      process.stdout.write = stdout;
      process.exitCode = before;
    }
  });

  it('reports an invalid test file with its position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-policy-test-'));
    const file = join(dir, 'bad.policy-test.yaml');
    writeFileSync(file, 'cases:\n  - name: x\n    given: { server: fs }\n    expect: { effect: perhaps }\n');
    await expect(policyTest([file], { env }, capture())).rejects.toThrow(
      /bad\.policy-test\.yaml:4:\d+ +cases\[0\]\.expect\.effect/,
    );
  });
});

describe('atom-gov policy check (semantic warnings)', () => {
  it('adds semantic warnings to a valid config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-check-sem-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      `atom_gov:
  servers: [{ name: fs, command: node }]
---
policy: { name: fs_off, trigger: { mcp_server: fs }, action: { deny: true } }
---
policy: { name: fs_limit, trigger: { mcp_server: fs, operation: read_file }, action: { rate_limit: { limit: 5/second } } }
`,
    );
    const io = capture();
    expect(await policyCheck({ config: file, env: { HOME: dir } }, io)).toBe(0);
    expect(io.err).toMatch(/c\.yaml:6:1 +policy +warning: rule fs_limit is shadowed by fs_off \(.*c\.yaml:4\)/);
  });
});
