// The commented starter config `atom-gov init` writes. It must pass `atom-gov policy check` as is
// (a test loads it), so every example that needs something installed stays commented out.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const STARTER_CONFIG = `# ATOM-GOV configuration. Check it with: atom-gov policy check --config <this file>
# Reference: libs/config/README.md in the ATOM-GOV checkout; JSON Schema for editors:
# schema/mcp-governance.schema.json.
#
# Placeholders: \${ENV_VAR}, \${ENV_VAR:-default}, \${ATOM_GOV_DATA_DIR}, \${ATOM_GOV_CONFIG_DIR}; ~ is your home.
atom_gov:
  version: 1.0.0

  global:
    mode: proxy # proxy | wrapper | inline
    audit: true
    encryption: false
    enforcement: hard # hard | soft | warn

  gateway:
    host: 127.0.0.1 # loopback without api_keys: local callers are served anonymously
    port: 8700

  # MCP servers under governance. Each one is a stdio command or an HTTP url.
  servers: []
  #  - name: everything
  #    package: '@modelcontextprotocol/server-everything' # node <bin>, from node_modules near this file
  #    args: [stdio]
  #    policies:
  #      - rate_limit: 100/hour
  #      - audit_level: full
  #
  #  - name: my_server
  #    command: /usr/local/bin/my-mcp-server
  #    args: [--verbose]
  #    env:
  #      API_TOKEN: \${MY_SERVER_TOKEN}
  #
  #  - name: remote
  #    url: https://mcp.example.com/mcp
  #    headers:
  #      Authorization: Bearer \${REMOTE_TOKEN}

  # Defaults every rule inherits.
  policies:
    rate_limit:
      type: counter
      window: sliding
      enforcement: hard
    require_approval:
      type: workflow
      approvers: 1
      timeout: 1h
      fallback: deny
    resource_limit:
      type: resource_quota
      enforcement: hard
      alert_threshold: 80%

  audit:
    backend: database # SQLite in the data dir; set database.url for PostgreSQL
    pii_redaction: true
    retention_days: 365

  tenants:
    enabled: false
    isolation: strict

  # Policy documents (policy: or mcp_policy:), relative to this file. Every glob must match a file.
  # policy_files:
  #   - policies/*.yaml
`;

export class StarterExistsError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists; pass --force to overwrite it`);
    this.name = 'StarterExistsError';
  }
}

/** Writes the starter config; refuses to replace an existing file unless `force`. */
export function writeStarterConfig(path: string, opts: { force?: boolean } = {}): void {
  if (existsSync(path) && !opts.force) throw new StarterExistsError(path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, STARTER_CONFIG, { encoding: 'utf8', mode: 0o600 });
}
