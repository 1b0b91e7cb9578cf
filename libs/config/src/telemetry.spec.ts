import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { checkConfig } from './check.js';
import { formatIssues } from './errors.js';
import { loadConfig } from './loader.js';

const dir = mkdtempSync(join(tmpdir(), 'atom-gov-telemetry-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(telemetry: string): string {
  const path = join(dir, `c${++n}.yaml`);
  writeFileSync(path, `atom_gov:\n  version: 1.0.0\n${telemetry}`);
  return path;
}

describe('telemetry: block', () => {
  it('normalises an OTLP/HTTP exporter: /v1/traces appended, protocol, headers, timeout', async () => {
    const configPath = write(`  telemetry:
    service_name: gw-eu-1
    otlp:
      endpoint: http://127.0.0.1:4318
      protocol: http/json
      headers: { authorization: Bearer t0k3n }
      timeout: 5s
`);
    const config = await loadConfig({ configPath, dataDir: dir, env: { HOME: dir } });
    expect(config.telemetry).toEqual({
      serviceName: 'gw-eu-1',
      otlp: {
        tracesUrl: 'http://127.0.0.1:4318/v1/traces',
        protocol: 'http/json',
        headers: { authorization: 'Bearer t0k3n' },
        timeoutMs: 5000,
      },
    });
  });

  it('defaults: no exporter, service atom-gov-gateway; a full traces URL is kept; protobuf by default', async () => {
    const none = await loadConfig({ configPath: write(''), dataDir: dir, env: { HOME: dir } });
    expect(none.telemetry).toEqual({ serviceName: 'atom-gov-gateway' });
    const full = await loadConfig({
      configPath: write('  telemetry:\n    otlp:\n      endpoint: https://otel.example.com/base/v1/traces\n'),
      dataDir: dir,
      env: { HOME: dir },
    });
    expect(full.telemetry.otlp).toMatchObject({
      tracesUrl: 'https://otel.example.com/base/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
    });
  });

  it('bad values are reported by policy check with file:line, the path and how to fix them', async () => {
    const configPath = write(`  telemetry:
    otlp:
      endpoint: grpc://collector:4317
      protocol: grpc
      headers: { x-retries: 3 }
      timeout: 10
    servce_name: x
`);
    const result = await checkConfig({ configPath, env: { HOME: dir } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = formatIssues(result.issues);
    expect(text).toMatch(
      /c\d+\.yaml:5:17 +atom_gov\.telemetry\.otlp\.endpoint +OTLP endpoint must be http:\/\/ or https:\/\/ \(OTLP\/HTTP; gRPC is not supported\), got grpc:\/\//,
    );
    expect(text).toMatch(
      /atom_gov\.telemetry\.otlp\.protocol +invalid value 'grpc': expected one of http\/protobuf, http\/json/,
    );
    expect(text).toMatch(/atom_gov\.telemetry\.otlp\.headers\.x-retries +expected a string, got number 3/);
    expect(text).toMatch(
      /atom_gov\.telemetry\.otlp\.timeout +expected a duration like 30m or 1h, got number 10 \(add a unit/,
    );
    expect(text).toContain("did you mean 'service_name'?");
    const notUrl = await checkConfig({
      configPath: write('  telemetry:\n    otlp:\n      endpoint: collector:4318\n'),
      env: { HOME: dir },
    });
    expect(notUrl.ok).toBe(false);
    if (!notUrl.ok)
      expect(formatIssues(notUrl.issues)).toContain(
        'OTLP endpoint must be http:// or https:// (OTLP/HTTP; gRPC is not supported), got collector:',
      );
  });
});
