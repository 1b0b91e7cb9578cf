// Server entries -> ServerConfig: resolves the seed's `path:` form and `package:` to a command,
// infers the transport, and checks the combinations a launcher could not act on.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ConfigIssue } from './errors.js';
import { toAbsolute } from './runtime.js';
import type { RawServer } from './schema.js';
import type { AuditLevel, LaunchConfig, ServerConfig, ServerPolicy } from './types.js';
import { parseQuotaAmount, parseRate } from './values.js';
import type { LevelTable } from './types.js';
import { issueAt, type PathSegment, type SourceDoc, positionOf } from './yaml-source.js';

export interface ServerContext {
  src: SourceDoc;
  base: PathSegment[];
  baseDir: string;
  home: string;
  levels: LevelTable;
  issues: ConfigIssue[];
}

/** Finds `node_modules/<name>` from `fromDir` upwards, as Node's resolver would. */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  let dir = resolve(fromDir);
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The script a Node package runs: its `bin` (the only one, or the one named like the package), else `main`. */
export function packageEntry(pkgDir: string): string | undefined {
  let pkg: { name?: string; bin?: string | Record<string, string>; main?: string };
  try {
    pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return undefined;
  }
  let entry: string | undefined;
  if (typeof pkg.bin === 'string') entry = pkg.bin;
  else if (pkg.bin && typeof pkg.bin === 'object') {
    const bins = Object.entries(pkg.bin);
    const short = pkg.name?.split('/').pop();
    entry = (bins.find(([k]) => k === short || k === pkg.name) ?? bins[0])?.[1];
  }
  entry ??= pkg.main;
  return entry ? join(pkgDir, entry) : undefined;
}

interface Executable {
  command?: string;
  args: string[];
}

/** Resolves `package:`, `path:` or `command:` (exactly one is given) into command + leading args. */
function resolveExecutable(
  raw: { package?: string | undefined; path?: string | undefined; command?: string | undefined },
  at: PathSegment[],
  ctx: ServerContext,
): Executable {
  if (raw.package !== undefined) {
    const dir = findPackageDir(raw.package, ctx.baseDir);
    if (!dir) {
      ctx.issues.push(
        issueAt(ctx.src, [...at, 'package'], `package '${raw.package}' is not installed in or above ${ctx.baseDir}`, {
          hint: `run: npm install ${raw.package}`,
        }),
      );
      return { args: [] };
    }
    const entry = packageEntry(dir);
    if (!entry) {
      ctx.issues.push(issueAt(ctx.src, [...at, 'package'], `package '${raw.package}' has no bin or main entry to run`));
      return { args: [] };
    }
    return { command: process.execPath, args: [entry] };
  }
  if (raw.path !== undefined) {
    const path = toAbsolute(raw.path, ctx.home, ctx.baseDir);
    if (!existsSync(path)) {
      // The seed's own example points at folders that exist only on its author's machine: the
      // config still loads (the launcher fails closed), but the user hears about it now.
      ctx.issues.push(
        issueAt(ctx.src, [...at, 'path'], `path ${path} does not exist yet; it will be run as an executable`, {
          severity: 'warning',
        }),
      );
      return { command: path, args: [] };
    }
    if (statSync(path).isDirectory()) {
      const entry = existsSync(join(path, 'package.json')) ? packageEntry(path) : undefined;
      if (!entry) {
        ctx.issues.push(
          issueAt(ctx.src, [...at, 'path'], `directory ${path} holds no Node package with a bin or main entry`, {
            hint: 'point path: at the server executable, or use command: and args:',
          }),
        );
        return { args: [] };
      }
      return { command: process.execPath, args: [entry] };
    }
    try {
      accessSync(path, constants.X_OK);
    } catch {
      if (/\.(c|m)?js$/.test(path)) return { command: process.execPath, args: [path] };
      ctx.issues.push(issueAt(ctx.src, [...at, 'path'], `${path} is not executable`, { hint: `chmod +x ${path}` }));
    }
    return { command: path, args: [] };
  }
  if (raw.command !== undefined) {
    const expanded = raw.command.startsWith('~') ? toAbsolute(raw.command, ctx.home, ctx.baseDir) : raw.command;
    // A bare name is looked up on PATH by the launcher; a relative path is relative to the config file.
    const command = expanded.includes('/') ? toAbsolute(expanded, ctx.home, ctx.baseDir) : expanded;
    return { command: command === 'node' ? process.execPath : command, args: [] };
  }
  return { args: [] };
}

const expandArg = (arg: string, ctx: ServerContext) =>
  arg === '~' || arg.startsWith('~/') ? toAbsolute(arg, ctx.home) : arg;
const stringEnv = (env: Record<string, string | number | boolean> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));

export function normalizeServers(raws: RawServer[], ctx: ServerContext): ServerConfig[] {
  const seen = new Map<string, number>();
  const out: ServerConfig[] = [];
  raws.forEach((raw, i) => {
    const at: PathSegment[] = [...ctx.base, i];
    const before = ctx.issues.filter((x) => x.severity === 'error').length;
    const firstIndex = seen.get(raw.name);
    if (firstIndex !== undefined) {
      const first = positionOf(ctx.src, [...ctx.base, firstIndex, 'name']);
      ctx.issues.push(
        issueAt(ctx.src, [...at, 'name'], `duplicate server name '${raw.name}' (first defined at line ${first.line})`, {
          hint: 'server names must be unique',
        }),
      );
      return;
    }
    seen.set(raw.name, i);

    const stdioSources = (['command', 'path', 'package'] as const).filter((k) => raw[k] !== undefined);
    if (stdioSources.length > 1) {
      ctx.issues.push(
        issueAt(
          ctx.src,
          [...at, stdioSources[1]!],
          `give only one of command, path, package (got ${stdioSources.join(' and ')})`,
          {
            key: true,
          },
        ),
      );
    }
    if (raw.url !== undefined && stdioSources.length > 0) {
      ctx.issues.push(
        issueAt(
          ctx.src,
          [...at, 'url'],
          `server '${raw.name}' has both ${stdioSources[0]} and url: use ${stdioSources[0]} for a stdio server or url for an HTTP server, not both`,
          {
            key: true,
            hint: 'to have the gateway start an HTTP server, move the command under launch:',
          },
        ),
      );
    }
    if (raw.url === undefined && stdioSources.length === 0 && !raw.launch) {
      ctx.issues.push(
        issueAt(
          ctx.src,
          at,
          `server '${raw.name}' needs command (or path/package) for a stdio server, or url for an HTTP server`,
        ),
      );
    }
    if (raw.launch && raw.url === undefined) {
      ctx.issues.push(
        issueAt(
          ctx.src,
          [...at, 'launch'],
          `launch: starts an HTTP server, so server '${raw.name}' also needs url: (e.g. http://127.0.0.1:{port}/mcp)`,
          {
            key: true,
          },
        ),
      );
    }
    const isHttp = raw.url !== undefined;
    const transport = raw.transport ?? (isHttp ? 'streamable_http' : 'stdio');
    if (raw.transport === 'stdio' && isHttp && stdioSources.length === 0) {
      ctx.issues.push(
        issueAt(ctx.src, [...at, 'transport'], `transport stdio needs command:, not url:`, {
          hint: 'use transport: streamable_http or sse',
        }),
      );
    }
    if (raw.transport !== undefined && raw.transport !== 'stdio' && !isHttp) {
      ctx.issues.push(issueAt(ctx.src, [...at, 'transport'], `transport ${raw.transport} needs url:`));
    }
    if (raw.url !== undefined) checkUrl(raw.url, [...at, 'url'], ctx, raw.launch?.port === 'auto');
    if (!isHttp && raw.headers !== undefined) {
      ctx.issues.push(
        issueAt(ctx.src, [...at, 'headers'], `headers apply to HTTP servers only (this server has no url)`, {
          key: true,
        }),
      );
    }

    const exe = isHttp ? { args: [] } : resolveExecutable(raw, at, ctx);
    let launch: LaunchConfig | undefined;
    if (raw.launch) {
      const l = raw.launch;
      const sources = (['command', 'path', 'package'] as const).filter((k) => l[k] !== undefined);
      if (sources.length !== 1) {
        ctx.issues.push(
          issueAt(
            ctx.src,
            [...at, 'launch'],
            sources.length === 0
              ? 'launch needs one of command, path, package'
              : `launch takes only one of command, path, package (got ${sources.join(' and ')})`,
          ),
        );
      }
      const lexe = resolveExecutable(l, [...at, 'launch'], ctx);
      if (lexe.command) {
        launch = {
          command: lexe.command,
          args: [...lexe.args, ...(l.args ?? []).map((a) => expandArg(a, ctx))],
          env: stringEnv(l.env),
          cwd: l.cwd !== undefined ? toAbsolute(l.cwd, ctx.home, ctx.baseDir) : ctx.baseDir,
          port: l.port ?? 'auto',
        };
      }
    }

    const policies: ServerPolicy[] = [];
    let auditLevel: AuditLevel = raw.audit_level ?? 'full';
    let localOnly = raw.local_only ?? false;
    (raw.policies ?? []).forEach((p, j) => {
      const pAt = [...at, 'policies', j];
      if (p.rate_limit !== undefined) {
        const r = parseRate(p.rate_limit);
        if (r.ok) policies.push({ kind: 'rate_limit', rate: r.value });
      }
      if (p.require_approval !== undefined)
        policies.push({ kind: 'require_approval', operationGroup: p.require_approval });
      if (p.resource_limit !== undefined) {
        const q = parseQuotaAmount(p.resource_limit, ctx.levels);
        if (q.ok) policies.push({ kind: 'resource_limit', amount: q.value });
        else ctx.issues.push(issueAt(ctx.src, [...pAt, 'resource_limit'], q.message));
      }
      if (p.audit_level !== undefined) {
        auditLevel = p.audit_level;
        policies.push({ kind: 'audit_level', level: p.audit_level });
      }
      if (p.local_only !== undefined) {
        localOnly = p.local_only;
        policies.push({ kind: 'local_only', value: p.local_only });
      }
      if (p.pii_detection !== undefined) policies.push({ kind: 'pii_detection', value: p.pii_detection });
    });

    if (ctx.issues.filter((x) => x.severity === 'error').length > before) return;
    const pos = positionOf(ctx.src, at);
    out.push({
      name: raw.name,
      transport,
      ...(exe.command !== undefined ? { command: exe.command } : {}),
      args: isHttp ? [] : [...exe.args, ...(raw.args ?? []).map((a) => expandArg(a, ctx))],
      env: stringEnv(raw.env),
      ...(!isHttp ? { cwd: raw.cwd !== undefined ? toAbsolute(raw.cwd, ctx.home, ctx.baseDir) : ctx.baseDir } : {}),
      ...(raw.url !== undefined ? { url: raw.url } : {}),
      headers: { ...(raw.headers ?? {}) },
      ...(launch ? { launch } : {}),
      share: raw.share ?? false,
      localOnly,
      auditLevel,
      policies,
      createDirs: (raw.create_dirs ?? []).map((d) => toAbsolute(d, ctx.home, ctx.baseDir)),
      source: { file: ctx.src.file, line: pos.line, column: pos.column, path: `atom_gov.servers[${i}]` },
    });
  });
  return out;
}

function checkUrl(url: string, at: PathSegment[], ctx: ServerContext, portAuto: boolean): void {
  if (portAuto && !url.includes('{port}')) {
    ctx.issues.push(
      issueAt(ctx.src, at, `launch.port is auto, so url must contain {port} (e.g. http://127.0.0.1:{port}/mcp)`),
    );
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url.replaceAll('{port}', '1'));
  } catch {
    ctx.issues.push(issueAt(ctx.src, at, `invalid url '${url}': expected http(s)://host:port/path`));
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.issues.push(
      issueAt(ctx.src, at, `unsupported url scheme '${parsed.protocol}' in '${url}': expected http or https`),
    );
  }
}
