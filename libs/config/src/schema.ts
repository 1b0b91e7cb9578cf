// Zod schemas for the raw YAML (after `${VAR}` interpolation, before normalisation). They reject
// unknown keys and check value syntax; cross-field rules and defaults live in normalize.ts.
// The same schemas produce the published JSON Schema (schema/*.schema.json) for editor completion.
import { z } from 'zod';
import { costsSchema, exportSchema } from './costs.js';
import { telemetrySchema } from './telemetry.js';
import { parseDuration, parseRate } from './values.js';

const fromParser =
  (parse: (v: unknown) => { ok: true } | { ok: false; message: string }) =>
  <T>(value: T, ctx: z.RefinementCtx<T>) => {
    const r = parse(value);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message, input: value });
  };

const rate = z
  .string()
  .superRefine(fromParser(parseRate))
  .meta({ description: 'A rate: <count>/<period>, e.g. 100/hour (second, minute, hour, day, week, month)' });
const duration = z
  .union([z.string(), z.number()])
  .superRefine(fromParser(parseDuration))
  .meta({ description: 'A duration such as 30s, 30m, 1h, 1h30m, 2d' });
/** `80%` or a named threshold level; the level is checked against the level table during normalisation. */
const percent = z
  .string()
  .regex(
    /^(\s*\d+(\.\d+)?\s*%\s*|[A-Za-z_][A-Za-z0-9_]*)$/,
    'expected a percentage such as 80% or a named level such as high_utilization',
  )
  .meta({ description: 'A percentage such as 80%, or a named level (high_utilization)' });
/** `10000/month`, a number, or a named level (`high_usage`). */
const quotaAmount = z
  .union([z.number().nonnegative(), z.string()])
  .meta({ description: 'A quota: 10000/month, a number (storage_gb: 100), or a named level (high_usage)' });
const enforcement = z
  .enum(['hard', 'soft', 'warn'])
  .meta({ description: 'hard blocks, soft allows and alerts, warn only logs' });
const auditLevel = z.enum(['full', 'summary', 'none']);
const scope = z.enum(['user', 'tenant', 'server', 'global']);
const stringOrList = z.union([z.string(), z.array(z.string())]);
const envMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const serverName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'server names use letters, digits, _ . - (they appear in URLs such as /mcp/<name>)',
  );

// ---------- policy documents ----------

export const approvalSchema = z.strictObject({
  approvers: z.array(z.string()).min(1, 'list at least one approver'),
  min_approvals: z.number().int().min(1).optional(),
  timeout: duration.optional(),
  on_timeout: z.enum(['deny', 'allow']).optional(),
  approval_mode: z
    .enum(['wait', 'defer'])
    .optional()
    .meta({ description: 'wait: the call waits for the decision; defer: it answers at once with the operation id' }),
  escalate_after: duration.optional().meta({ description: 'Ask escalate_to as well when undecided after this long' }),
  escalate_to: z.array(z.string()).min(1).optional(),
  reminders: duration.optional().meta({ description: 'Remind approvers who have not voted every this long' }),
});

const rateKey = z.enum(['tenant', 'user', 'server', 'tool']);

export const rateLimitSchema = z.strictObject({
  limit: rate,
  per: z
    .union([scope, z.array(rateKey).min(1)])
    .optional()
    .meta({ description: 'user | tenant | server | global, or a combination such as [user, tool]' }),
  burst: z.number().int().nonnegative().optional(),
  on_exceeded: z.enum(['block', 'warn']).optional(),
  window: z.enum(['sliding', 'fixed']).optional(),
  alert_threshold: percent.optional(),
});

export const quotaSchema = z.strictObject({
  limit: quotaAmount,
  resource: z.string().optional().meta({ description: 'What is counted; api_calls by default' }),
  per: scope.optional(),
  enforcement: enforcement.optional(),
  alert_threshold: percent.optional(),
});

export const piiSchema = z.strictObject({
  enabled: z.boolean().optional(),
  redact: z.boolean().optional(),
  patterns: z.array(z.string()).optional(),
});

const denySchema = z.union([z.boolean(), z.strictObject({ message: z.string().optional() })]);

const weekdayEnum = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const dateRange = z
  .string()
  .regex(
    /^\s*\d{4}-\d{2}-\d{2}\s*(\.\.\s*\d{4}-\d{2}-\d{2}\s*)?$/,
    'expected a date 2026-12-24 or a range 2026-12-20..2027-01-04',
  );
export const timeSchema = z.strictObject({
  days: z.array(weekdayEnum).optional(),
  hours: z.string().optional().meta({ description: 'HH:MM-HH:MM' }),
  timezone: z.string().optional().meta({ description: 'IANA time zone such as Europe/Berlin (default UTC)' }),
  dates: z
    .array(dateRange)
    .optional()
    .meta({ description: 'Local dates or ranges (inclusive): 2026-12-20..2027-01-04' }),
});

/** Tool visibility: allow-list and/or deny-list of tool (prompt, resource) name globs. */
export const toolsSchema = z
  .strictObject({ allow: stringOrList.optional(), deny: stringOrList.optional() })
  .refine((t) => t.allow !== undefined || t.deny !== undefined, 'tools needs allow: and/or deny:');

export const actionSchema = z
  .strictObject({
    require_approval: approvalSchema.optional(),
    rate_limit: rateLimitSchema.optional(),
    quota: quotaSchema.optional(),
    pii_detection: piiSchema.optional(),
    deny: denySchema.optional(),
    access_hours: timeSchema.optional().meta({ description: 'Calls are allowed only within this window' }),
    tools: toolsSchema.optional(),
  })
  .refine(
    (a) => Object.keys(a).length > 0,
    'an action needs at least one of require_approval, rate_limit, quota, pii_detection, deny, access_hours, tools',
  );

export const notification = z
  .string()
  .regex(
    /^(slack:\/\/\S+|mailto:\S+@\S+|[^\s@:]+@[^\s@]+|https?:\/\/\S+)$/,
    'expected slack://<channel>, mailto:<address>, an email address or an http(s) webhook URL',
  );

export const auditObligationSchema = z.strictObject({
  log_level: auditLevel.optional(),
  log_all_operations: z.boolean().optional(),
  notification: z.union([notification, z.array(notification)]).optional(),
  alert_on_limit: z.boolean().optional(),
  alert_on_pii: z.boolean().optional(),
  resource_tracking: z.boolean().optional(),
  reporting: z.enum(['daily', 'weekly', 'monthly']).optional(),
  log_redacted: z.boolean().optional(),
  retention_days: z.number().int().positive().optional(),
  encrypt_logs: z.boolean().optional(),
  pii_detection: z.boolean().optional(),
});

export const triggerSchema = z.strictObject({
  mcp_server: stringOrList.optional().meta({ description: 'Server name(s), or all' }),
  operation: stringOrList.optional().meta({ description: 'Operation glob(s) such as research.* , or all' }),
  resource_pattern: stringOrList.optional(),
  tenants: stringOrList.optional(),
  users: stringOrList.optional(),
  roles: stringOrList.optional(),
  time: timeSchema.optional(),
});

export const policyDocSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'policy names use letters, digits, _ . : -'),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  enforcement: enforcement.optional(),
  trigger: triggerSchema,
  action: actionSchema,
  audit: auditObligationSchema.optional(),
});

/** Settings allowed in an `mcp_policy:` server block or operation group (the seed's short forms). */
const groupSettingsShape = {
  operations: z
    .array(z.string())
    .optional()
    .meta({ description: 'Operation globs of this group (else operation_groups.<group>)' }),
  resource_pattern: stringOrList.optional(),
  require_approval: z.union([z.boolean(), approvalSchema]).optional(),
  approvers: z.array(z.string()).min(1).optional(),
  min_approvals: z.number().int().min(1).optional(),
  timeout: duration.optional(),
  on_timeout: z.enum(['deny', 'allow']).optional(),
  rate_limit: z.union([rate, rateLimitSchema]).optional(),
  burst: z.number().int().nonnegative().optional(),
  per: scope.optional(),
  quota: quotaSchema.optional(),
  pii_detection: z.union([z.boolean(), piiSchema]).optional(),
  deny: denySchema.optional(),
  tools: toolsSchema.optional(),
  audit: z.union([z.boolean(), auditObligationSchema]).optional(),
  resource_tracking: z.boolean().optional(),
  alert_threshold: percent.optional(),
  notification: z.union([notification, z.array(notification)]).optional(),
  enforcement: enforcement.optional(),
};
export const MCP_GROUP_SETTING_KEYS = Object.keys(groupSettingsShape);

export const mcpGroupSchema = z.strictObject(groupSettingsShape);
/** A server block: settings for every operation, plus named operation groups (catch-all keys). */
export const mcpServerBlockSchema = z.object(groupSettingsShape).catchall(mcpGroupSchema);

export const mcpTenantsSchema = z.strictObject({
  isolation: z.enum(['strict', 'shared']).optional(),
  quota_per_tenant: z.record(z.string(), quotaAmount).optional(),
  enforcement: enforcement.optional(),
  alert_threshold: percent.optional(),
});

export const mcpPolicySchema = z
  .object({ tenants: mcpTenantsSchema.optional(), all_servers: mcpServerBlockSchema.optional() })
  .catchall(mcpServerBlockSchema);

// ---------- main config ----------

const serverPolicyItem = z
  .strictObject({
    rate_limit: rate.optional(),
    require_approval: z
      .string()
      .optional()
      .meta({ description: 'Operation group that needs approval, e.g. production_writes' }),
    resource_limit: quotaAmount.optional(),
    audit_level: auditLevel.optional(),
    local_only: z.boolean().optional(),
    pii_detection: z.boolean().optional(),
  })
  .refine(
    (p) => Object.keys(p).length > 0,
    'a server policy needs one of rate_limit, require_approval, resource_limit, audit_level, local_only, pii_detection',
  );

const portSchema = z.union([z.number().int().min(1).max(65535), z.literal('auto')]);

export const launchSchema = z.strictObject({
  command: z.string().optional(),
  package: z.string().optional().meta({ description: 'An npm package installed near the config; runs node <its bin>' }),
  path: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: envMap.optional(),
  cwd: z.string().optional(),
  port: portSchema.optional().meta({ description: 'auto picks a free port; {port} in url/args/env is replaced' }),
});

export const serverSchema = z.strictObject({
  name: serverName,
  description: z.string().optional(),
  path: z.string().optional().meta({ description: 'A directory holding a Node MCP server package, or an executable' }),
  package: z.string().optional().meta({ description: 'An npm package installed near the config; runs node <its bin>' }),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: envMap.optional(),
  cwd: z.string().optional(),
  url: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  transport: z.enum(['stdio', 'streamable_http', 'sse']).optional(),
  launch: launchSchema.optional(),
  share: z.boolean().optional(),
  local_only: z.boolean().optional(),
  audit_level: auditLevel.optional(),
  create_dirs: z
    .array(z.string())
    .optional()
    .meta({ description: 'Directories the launcher creates before starting the server' }),
  policies: z.array(serverPolicyItem).optional(),
});

export const definitionsSchema = z.strictObject({
  rate_limit: z
    .strictObject({
      type: z.string().optional(),
      window: z.enum(['sliding', 'fixed']).optional(),
      enforcement: enforcement.optional(),
    })
    .optional(),
  require_approval: z
    .strictObject({
      type: z.string().optional(),
      approvers: z.number().int().min(1).optional().meta({ description: 'How many approvals are needed by default' }),
      timeout: duration.optional(),
      fallback: z.enum(['deny', 'allow']).optional(),
      approval_mode: z.enum(['wait', 'defer']).optional(),
    })
    .optional(),
  resource_limit: z
    .strictObject({
      type: z.string().optional(),
      enforcement: enforcement.optional(),
      alert_threshold: percent.optional(),
    })
    .optional(),
  pii_detection: z
    .strictObject({ patterns: z.array(z.string()).optional(), redact: z.boolean().optional() })
    .optional(),
});

const atomGovSchema = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  global: z
    .strictObject({
      mode: z.enum(['proxy', 'wrapper', 'inline']).optional(),
      audit: z.boolean().optional(),
      encryption: z.boolean().optional(),
      enforcement: enforcement.optional(),
    })
    .optional(),
  servers: z.array(serverSchema).optional(),
  policies: definitionsSchema.optional(),
  audit: z
    .strictObject({
      backend: z.string().optional(),
      trail_file: z.string().optional(),
      encrypt: z.boolean().optional(),
      pii_redaction: z.boolean().optional(),
      retention_days: z.number().int().positive().optional(),
      signing_key: z
        .string()
        .optional()
        .meta({ description: 'Ed25519 private key (PEM) that signs audit checkpoints; generated when missing' }),
      checkpoint_file: z.string().optional().meta({
        description: 'append-only JSONL copy of every signed checkpoint (put it where the writer cannot rewrite)',
      }),
      time_zone: z
        .string()
        .optional()
        .meta({ description: 'IANA time zone of the daily retention cut-off (default UTC)' }),
    })
    .optional(),
  tenants: z
    .strictObject({
      enabled: z.boolean().optional(),
      isolation: z.enum(['strict', 'shared']).optional(),
      quotas: z.record(z.string(), z.record(z.string(), quotaAmount)).optional(),
    })
    .optional(),
  gateway: z
    .strictObject({
      host: z.string().optional(),
      port: z.number().int().min(0).max(65535).optional(),
      public_url: z.url().optional(),
      allow_unauthenticated: z.boolean().optional(),
      anonymous: z
        .strictObject({
          tenant: z.string().optional(),
          user: z.string().optional(),
          roles: z.array(z.string()).optional(),
        })
        .optional(),
      allowed_origins: z.array(z.string()).optional(),
      allowed_hosts: z.array(z.string()).optional(),
      max_body_bytes: z.number().int().positive().optional(),
      /** Serve the aggregate endpoint /mcp (every server the caller may use, names prefixed `<server>__`). */
      aggregate: z.boolean().optional(),
      api_keys: z
        .array(
          z.strictObject({
            name: z.string().optional(),
            sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'expected the sha256 of the key as 64 hex digits'),
            tenant: z.string(),
            user: z.string(),
            roles: z.array(z.string()).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  temporal: z
    .strictObject({
      address: z.string().optional(),
      namespace: z.string().optional(),
      task_queue: z.string().optional(),
      dev_server: z
        .strictObject({
          port: z.number().int().min(1).max(65535).optional(),
          ui_port: z.number().int().min(1).max(65535).optional(),
          headless: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
  database: z.strictObject({ url: z.string().optional() }).optional(),
  costs: costsSchema.optional(),
  export: exportSchema.optional(),
  telemetry: telemetrySchema.optional(),
  redis: z.strictObject({ url: z.string().optional() }).optional(),
  pinning: z
    .union([
      z.enum(['tofu', 'strict', 'off']),
      z.strictObject({ mode: z.enum(['tofu', 'strict', 'off']).optional(), lock_file: z.string().optional() }),
    ])
    .optional()
    .meta({
      description:
        'Tool pinning (rug-pull defence): tofu (default: pin what is first seen), strict (unpinned = blocked) or off; lock_file default <data dir>/tools.lock.json',
    }),
  notifications: z
    .strictObject({
      public_url: z
        .url()
        .optional()
        .meta({ description: 'Base URL of approval links in emails (default: gateway.public_url)' }),
      from: z
        .string()
        .optional()
        .meta({ description: 'Sender of approval emails, e.g. "ATOM-GOV <atom-gov@example.com>"' }),
      link_secret: z
        .string()
        .min(32, 'use at least 32 characters (e.g. openssl rand -hex 32)')
        .optional()
        .meta({ description: 'HMAC key for approval links; default: generated into <data dir>/approval-link.key' }),
      smtp: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).optional(),
          secure: z.boolean().optional(),
          user: z.string().optional(),
          pass: z.string().optional(),
        })
        .optional()
        .meta({ description: 'SMTP server for approval emails; without it emails are written to <data dir>/outbox' }),
      slack: z
        .strictObject({
          bot_token: z.string().optional(),
          signing_secret: z.string().optional(),
          app_token: z.string().optional(),
          socket_mode: z.boolean().optional(),
          host: z.string().optional(),
          port: z.number().int().min(0).max(65535).optional(),
          api_url: z.url().optional(),
          channels: z
            .record(z.string(), z.string())
            .optional()
            .meta({ description: 'Channel names (slack://ops-channel) to channel ids (C0123...)' }),
          users: z
            .record(z.string(), z.string())
            .optional()
            .meta({ description: 'Slack user ids (U0123...) to approver identities (alice@company.com)' }),
        })
        .optional(),
    })
    .optional(),
  policy_files: z.array(z.string()).optional().meta({ description: 'Globs of policy files, relative to this file' }),
  operation_groups: z
    .record(z.string(), z.array(z.string()))
    .optional()
    .meta({ description: 'Named operation groups (production_writes: [workers.deploy, ...])' }),
  levels: z
    .strictObject({
      quota: z.record(z.string(), z.union([z.number().nonnegative(), rate])).optional(),
      threshold: z.record(z.string(), percent).optional(),
    })
    .optional(),
});

export const configFileSchema = z
  .strictObject({
    atom_gov: atomGovSchema,
    mcp_policy: mcpPolicySchema.optional(),
    policy: policyDocSchema.optional(),
  })
  .meta({ title: 'ATOM-GOV configuration (mcp-governance.yaml)' });

export const policyFileSchema = z
  .strictObject({
    mcp_policy: mcpPolicySchema.optional(),
    policy: policyDocSchema.optional(),
  })
  .refine(
    (d) => d.mcp_policy !== undefined || d.policy !== undefined,
    'a policy document needs a policy: or mcp_policy: block',
  )
  .meta({ title: 'ATOM-GOV policy document (one YAML document per policy)' });

export type RawConfigFile = z.infer<typeof configFileSchema>;
export type RawAtomGov = z.infer<typeof atomGovSchema>;
export type RawServer = z.infer<typeof serverSchema>;
export type RawPolicyDoc = z.infer<typeof policyDocSchema>;
export type RawMcpPolicy = z.infer<typeof mcpPolicySchema>;
export type RawMcpGroup = z.infer<typeof mcpGroupSchema>;
export type RawMcpTenants = z.infer<typeof mcpTenantsSchema>;
export type RawPolicyFile = z.infer<typeof policyFileSchema>;
export type RawAudit = z.infer<typeof auditObligationSchema>;
export type RawDefinitions = z.infer<typeof definitionsSchema>;
