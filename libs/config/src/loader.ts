// loadConfig: read the main file and its policy files, interpolate `${VAR}`, validate, normalise,
// and return one deep-frozen AtomGovConfig, or throw a ConfigError listing every problem.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { normaliseCosts, normaliseExport } from './costs.js';
import { ConfigError, type ConfigIssue, sortIssues } from './errors.js';
import {
  normalizeDefinitions,
  normalizeLevels,
  type PolicyContext,
  ruleFromPolicyDoc,
  rulesFromMcpPolicy,
  rulesFromServers,
} from './policies.js';
import { homeOf, type RuntimeOptions, resolveRuntime, toAbsolute } from './runtime.js';
import {
  configFileSchema,
  policyFileSchema,
  type RawAtomGov,
  type RawConfigFile,
  type RawPolicyFile,
} from './schema.js';
import { normalizeServers } from './servers.js';
import { normaliseTelemetry } from './telemetry.js';
import type { AtomGovConfig, PolicyRule, QuotaAmount } from './types.js';
import { validateDoc } from './validate.js';
import { parseQuotaAmount } from './values.js';
import { issueAt, type PathSegment, parseYamlFile, type SourceDoc } from './yaml-source.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Loads and validates the configuration; throws ConfigError with every issue found. */
export async function loadConfig(opts: RuntimeOptions = {}): Promise<AtomGovConfig> {
  return Promise.resolve(loadConfigSync(opts));
}

export function loadConfigSync(opts: RuntimeOptions = {}): AtomGovConfig {
  const rt = resolveRuntime(opts);
  const configPath = rt.configPath;
  const baseDir = dirname(configPath);
  const home = homeOf(rt.env);
  // Always defined for `${...}`: lets a config place things under the data dir or beside itself.
  const env: Record<string, string | undefined> = {
    ...rt.env,
    ATOM_GOV_DATA_DIR: rt.dataDir,
    ATOM_GOV_CONFIG_DIR: baseDir,
  };
  const issues: ConfigIssue[] = [];
  const fail = (): never => {
    throw new ConfigError(sortIssues(issues));
  };

  const text = readText(configPath, issues, 'run `atom-gov init` to create a starter config, or pass --config FILE');
  if (text === undefined) return fail();
  const main = parseYamlFile(configPath, text);
  issues.push(...main.issues);
  if (main.docs.length === 0 && main.issues.length === 0) {
    issues.push({
      file: configPath,
      line: 1,
      column: 1,
      path: '',
      message: 'the file is empty: expected an atom_gov: block',
      severity: 'error',
    });
  }
  if (hasErrors(issues)) return fail();

  // The first document holds atom_gov:; further documents (after ---) may hold policies.
  const [first, ...more] = main.docs;
  const mainDoc = first!;
  const mainValue = interpolate(mainDoc, mainDoc.value, [], env, issues);
  if (mainValue === null || typeof mainValue !== 'object' || Array.isArray(mainValue)) {
    issues.push(issueAt(mainDoc, [], 'expected a map with an atom_gov: block at the top'));
    return fail();
  }
  const parsedMain = validateDoc(configFileSchema, mainDoc, withoutExtensions(mainValue));
  if (!parsedMain.ok) issues.push(...parsedMain.issues);

  const policyDocs: Array<{ src: SourceDoc; data: RawPolicyFile }> = [];
  const files = [configPath];
  const collectPolicyDocs = (docs: SourceDoc[]) => {
    for (const src of docs) {
      const value = interpolate(src, src.value, [], env, issues);
      if (value === null || value === undefined) continue; // an empty document between `---` separators
      const r = validateDoc(policyFileSchema, src, withoutExtensions(value));
      if (r.ok) policyDocs.push({ src, data: r.data });
      else issues.push(...r.issues);
    }
  };
  collectPolicyDocs(more);

  if (!parsedMain.ok) return fail();
  const raw: RawConfigFile = parsedMain.data;
  const g = raw.atom_gov;
  const A: PathSegment[] = ['atom_gov'];

  for (const [i, pattern] of (g.policy_files ?? []).entries()) {
    const matches = globSync(toAbsolute(pattern, home, baseDir).replaceAll('\\', '/'), {
      absolute: true,
      onlyFiles: true,
    }).sort();
    if (matches.length === 0) {
      issues.push(
        issueAt(mainDoc, [...A, 'policy_files', i], `no file matches '${pattern}' (relative to ${baseDir})`, {
          hint: 'fix the glob or remove the entry',
        }),
      );
      continue;
    }
    for (const file of matches) {
      if (files.includes(file)) continue;
      files.push(file);
      const ptext = readText(file, issues);
      if (ptext === undefined) continue;
      const parsed = parseYamlFile(file, ptext);
      issues.push(...parsed.issues);
      if (parsed.docs.length === 0 && parsed.issues.length === 0) {
        issues.push({
          file,
          line: 1,
          column: 1,
          path: '',
          message: 'the policy file is empty: expected policy: or mcp_policy:',
          severity: 'error',
        });
      }
      collectPolicyDocs(parsed.docs);
    }
  }

  const levels = normalizeLevels(g.levels, mainDoc, [...A, 'levels'], issues);
  const globalEnforcement = g.global?.enforcement ?? 'hard';
  const definitions = normalizeDefinitions(g.policies, levels, globalEnforcement, (p, m) =>
    issues.push(issueAt(mainDoc, [...A, 'policies', ...p], m)),
  );
  const servers = normalizeServers(g.servers ?? [], {
    src: mainDoc,
    base: [...A, 'servers'],
    baseDir,
    home,
    levels,
    issues,
  });
  const operationGroups = Object.fromEntries(Object.entries(g.operation_groups ?? {}).map(([k, v]) => [k, [...v]]));
  const ctx: PolicyContext = { definitions, levels, globalEnforcement, servers, operationGroups, issues };

  const rules: PolicyRule[] = [...rulesFromServers(ctx)];
  if (raw.mcp_policy) rules.push(...rulesFromMcpPolicy(mainDoc, ctx, raw.mcp_policy, ['mcp_policy']));
  if (raw.policy) rules.push(ruleFromPolicyDoc(mainDoc, ctx, raw.policy, ['policy']));
  for (const { src, data } of policyDocs) {
    if (data.mcp_policy) rules.push(...rulesFromMcpPolicy(src, ctx, data.mcp_policy, ['mcp_policy']));
    if (data.policy) rules.push(ruleFromPolicyDoc(src, ctx, data.policy, ['policy']));
  }
  checkUniqueRuleNames(rules, issues);

  const tenantQuotas: Record<string, Record<string, QuotaAmount>> = {};
  for (const [tenant, quotas] of Object.entries(g.tenants?.quotas ?? {})) {
    tenantQuotas[tenant] = {};
    for (const [resource, amount] of Object.entries(quotas)) {
      const q = parseQuotaAmount(amount, levels);
      if (q.ok) tenantQuotas[tenant][resource] = q.value;
      else issues.push(issueAt(mainDoc, [...A, 'tenants', 'quotas', tenant, resource], q.message));
    }
  }

  const costs = normaliseCosts(g.costs, { src: mainDoc, base: [...A, 'costs'], servers, issues });

  const auditTimeZone = g.audit?.time_zone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: auditTimeZone });
  } catch {
    issues.push(
      issueAt(
        mainDoc,
        [...A, 'audit', 'time_zone'],
        `unknown time zone '${auditTimeZone}': expected an IANA name such as Europe/Paris or UTC`,
      ),
    );
  }

  const host = opts.host ?? g.gateway?.host ?? '127.0.0.1';
  const port = opts.port ?? g.gateway?.port ?? 8700;
  const apiKeys = (g.gateway?.api_keys ?? []).map((k) => ({
    ...(k.name !== undefined ? { name: k.name } : {}),
    sha256: k.sha256.toLowerCase(),
    tenant: k.tenant,
    user: k.user,
    roles: [...(k.roles ?? [])],
  }));
  // Without API keys, a loopback-only gateway serves local callers as the anonymous identity; any
  // other binding must opt in explicitly, so exposing the gateway never silently opens it.
  const allowUnauthenticated = g.gateway?.allow_unauthenticated ?? (apiKeys.length === 0 && LOOPBACK.has(host));
  if (allowUnauthenticated && !LOOPBACK.has(host) && g.gateway?.allow_unauthenticated) {
    issues.push(
      issueAt(
        mainDoc,
        [...A, 'gateway', 'allow_unauthenticated'],
        `the gateway listens on ${host} and accepts unauthenticated callers`,
        { severity: 'warning' },
      ),
    );
  }
  const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

  const gatewayPublicUrl =
    g.gateway?.public_url ?? `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}`;

  if (hasErrors(issues)) return fail();

  const withoutVersion: Omit<AtomGovConfig, 'version'> = {
    declaredVersion: String(g.version ?? '1.0.0'),
    configPath,
    baseDir,
    files,
    dataDir: rt.dataDir,
    global: {
      mode: g.global?.mode ?? 'proxy',
      audit: g.global?.audit ?? true,
      encryption: g.global?.encryption ?? false,
      enforcement: globalEnforcement,
    },
    gateway: {
      host,
      port,
      publicUrl: gatewayPublicUrl,
      allowUnauthenticated,
      anonymous: {
        tenant: g.gateway?.anonymous?.tenant ?? 'default',
        user: g.gateway?.anonymous?.user ?? 'anonymous',
        roles: [...(g.gateway?.anonymous?.roles ?? [])],
      },
      allowedOrigins: [...(g.gateway?.allowed_origins ?? [])],
      allowedHosts: [
        ...(g.gateway?.allowed_hosts ?? [
          '127.0.0.1',
          'localhost',
          '[::1]',
          ...(LOOPBACK.has(host) || host === '0.0.0.0' ? [] : [host]),
        ]),
      ],
      maxBodyBytes: g.gateway?.max_body_bytes ?? 4 * 1024 * 1024,
      aggregate: g.gateway?.aggregate ?? false,
      apiKeys,
    },
    temporal: {
      ...(optional(g.temporal?.address ?? rt.env.TEMPORAL_ADDRESS) !== undefined
        ? { address: (g.temporal?.address ?? rt.env.TEMPORAL_ADDRESS)! }
        : {}),
      namespace: g.temporal?.namespace ?? 'default',
      taskQueue: g.temporal?.task_queue ?? 'atom-gov',
      devServer: {
        port: g.temporal?.dev_server?.port ?? 7233,
        uiPort: g.temporal?.dev_server?.ui_port ?? 8233,
        headless: g.temporal?.dev_server?.headless ?? false,
      },
    },
    database: {
      ...(optional(g.database?.url) !== undefined ? { url: g.database!.url! } : {}),
      sqlitePath: resolve(rt.dataDir, 'audit.sqlite'),
    },
    redis: optional(g.redis?.url) !== undefined ? { url: g.redis!.url! } : {},
    pinning: {
      mode: (typeof g.pinning === 'string' ? g.pinning : g.pinning?.mode) ?? 'tofu',
      lockFile:
        typeof g.pinning === 'object' && g.pinning.lock_file !== undefined
          ? toAbsolute(g.pinning.lock_file, home, baseDir)
          : resolve(rt.dataDir, 'tools.lock.json'),
    },
    notifications: normaliseNotifications(g.notifications, rt.dataDir, gatewayPublicUrl),
    servers,
    policies: definitions,
    rules,
    operationGroups,
    levels,
    audit: {
      backend: g.audit?.backend ?? 'database',
      ...(g.audit?.trail_file !== undefined ? { trailFile: toAbsolute(g.audit.trail_file, home, baseDir) } : {}),
      encrypt: g.audit?.encrypt ?? g.global?.encryption ?? false,
      piiRedaction: g.audit?.pii_redaction ?? true,
      retentionDays: g.audit?.retention_days ?? 365,
      signingKey:
        g.audit?.signing_key !== undefined
          ? toAbsolute(g.audit.signing_key, home, baseDir)
          : resolve(rt.dataDir, 'audit-signing-key.pem'),
      ...(g.audit?.checkpoint_file !== undefined
        ? { checkpointFile: toAbsolute(g.audit.checkpoint_file, home, baseDir) }
        : {}),
      timeZone: auditTimeZone,
    },
    tenants: {
      enabled: g.tenants?.enabled ?? false,
      isolation: g.tenants?.isolation ?? 'strict',
      quotas: tenantQuotas,
    },
    costs,
    export: normaliseExport(g.export, home, baseDir),
    telemetry: normaliseTelemetry(g.telemetry),
    warnings: issues.filter((i) => i.severity === 'warning'),
  };
  const version = configVersion(withoutVersion);
  return deepFreeze({ version, ...withoutVersion });
}

function normaliseNotifications(
  n: RawAtomGov['notifications'],
  dataDir: string,
  gatewayPublicUrl: string,
): AtomGovConfig['notifications'] {
  const smtp = n?.smtp;
  const slack = n?.slack;
  return {
    publicUrl: (n?.public_url ?? gatewayPublicUrl).replace(/\/+$/, ''),
    from: n?.from ?? 'ATOM-GOV <atom-gov@localhost>',
    ...(smtp !== undefined
      ? {
          smtp: {
            host: smtp.host,
            // 465 is implicit TLS; anything else upgrades with STARTTLS when the server offers it.
            port: smtp.port ?? (smtp.secure ? 465 : 587),
            secure: smtp.secure ?? smtp.port === 465,
            ...(optional(smtp.user) !== undefined ? { user: smtp.user! } : {}),
            ...(optional(smtp.pass) !== undefined ? { pass: smtp.pass! } : {}),
          },
        }
      : {}),
    outboxDir: resolve(dataDir, 'outbox'),
    ...(optional(n?.link_secret) !== undefined ? { linkSecret: n!.link_secret! } : {}),
    linkKeyFile: resolve(dataDir, 'approval-link.key'),
    slack: {
      ...(optional(slack?.bot_token) !== undefined ? { botToken: slack!.bot_token! } : {}),
      ...(optional(slack?.signing_secret) !== undefined ? { signingSecret: slack!.signing_secret! } : {}),
      ...(optional(slack?.app_token) !== undefined ? { appToken: slack!.app_token! } : {}),
      socketMode:
        slack?.socket_mode ??
        (optional(slack?.app_token) !== undefined && optional(slack?.signing_secret) === undefined),
      host: slack?.host ?? '127.0.0.1',
      port: slack?.port ?? 3000,
      ...(slack?.api_url !== undefined ? { apiUrl: slack.api_url } : {}),
      channels: { ...(slack?.channels ?? {}) },
      users: { ...(slack?.users ?? {}) },
    },
  };
}

/** Top-level `x-...` keys are free for YAML anchors shared by the rest of the file (as in Compose files). */
function withoutExtensions(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith('x-')));
}

function optional(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function hasErrors(issues: ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

function readText(file: string, issues: ConfigIssue[], hint?: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, expected a YAML file'
          : `cannot read: ${(error as Error).message}`;
    issues.push({
      file,
      line: 1,
      column: 1,
      path: '',
      message,
      ...(hint && code === 'ENOENT' ? { hint } : {}),
      severity: 'error',
    });
    return undefined;
  }
}

const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$\{([^}]*)\}?/g;

/** Replaces `${VAR}` / `${VAR:-default}` in every string value; `$${` is a literal `${`. */
function interpolate(
  src: SourceDoc,
  value: unknown,
  path: PathSegment[],
  env: Record<string, string | undefined>,
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(
      VAR,
      (match, name: string | undefined, fallback: string | undefined, bad: string | undefined) => {
        if (match === '$${') return '${';
        if (name === undefined) {
          issues.push(
            issueAt(src, path, `invalid variable reference '${match}': expected \${NAME} or \${NAME:-default}`, {
              hint: `${bad === undefined ? 'close it with }' : 'names use letters, digits and _'}, or write $\${ for a literal \${`,
            }),
          );
          return match;
        }
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        issues.push(
          issueAt(src, path, `environment variable ${name} is not set`, {
            hint: `set ${name}, or write \${${name}:-default}`,
          }),
        );
        return match;
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(src, v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(src, v, [...path, k], env, issues)]),
    );
  }
  return value;
}

function checkUniqueRuleNames(rules: PolicyRule[], issues: ConfigIssue[]): void {
  const seen = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const prior = seen.get(rule.name);
    if (prior) {
      issues.push({
        file: rule.source.file,
        line: rule.source.line,
        column: rule.source.column,
        path: rule.source.path,
        message: `duplicate policy name '${rule.name}' (also defined at ${prior.source.file}:${prior.source.line})`,
        hint: 'policy names must be unique',
        severity: 'error',
      });
    } else seen.set(rule.name, rule);
  }
}

/** Stable JSON (sorted keys) so the hash changes only when the meaning does. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function configVersion(config: Omit<AtomGovConfig, 'version'>): string {
  const { warnings: _warnings, ...meaning } = config;
  return createHash('sha256').update(stableStringify(meaning)).digest('hex');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
