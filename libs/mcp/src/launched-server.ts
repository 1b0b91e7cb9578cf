// A gateway-supervised HTTP MCP server (`launch:`): started on demand with a free port when `port: 'auto'`,
// `{port}` substituted in args/env/url, considered up once its port accepts connections, restarted with
// exponential backoff when it dies, killed with its whole process group on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { LaunchConfig, McpLogger } from './types.js';

export interface LaunchedServerOptions {
  name: string;
  launch: LaunchConfig;
  /** The server's url; may contain `{port}`. */
  url: string;
  logger: McpLogger;
  readyTimeoutMs?: number;
  maxBackoffMs?: number;
  createDirs?: string[];
}

export class LaunchedServer {
  private child?: ChildProcess;
  private port?: number;
  private ready?: Promise<string>;
  private stopped = false;
  private backoffMs = 250;
  private restartTimer?: NodeJS.Timeout;
  private startedAt = 0;

  constructor(private readonly opts: LaunchedServerOptions) {}

  /** Resolves with the url once the server answers; starts it on first use. */
  url(): Promise<string> {
    if (this.stopped) return Promise.reject(new Error(`launched server '${this.opts.name}' is stopped`));
    this.ready ??= this.start().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async start(): Promise<string> {
    const { launch, name, logger } = this.opts;
    for (const dir of this.opts.createDirs ?? []) mkdirSync(dir, { recursive: true });
    this.port ??= launch.port === 'auto' ? await freePort() : launch.port;
    const port = String(this.port);
    const sub = (s: string) => s.replaceAll('{port}', port);
    const env = Object.fromEntries(Object.entries(launch.env).map(([k, v]) => [k, sub(v)]));
    const child = spawn(launch.command, launch.args.map(sub), {
      env: { ...getDefaultEnvironment(), ...env },
      cwd: launch.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      if (stream)
        createInterface({ input: stream }).on('line', (line) => logger.info(`[${name}] ${line}`, { server: name }));
    }
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (error) =>
        reject(new Error(`launched server '${name}': cannot start '${launch.command}': ${error.message}`)),
      );
      child.once('exit', (code, signal) =>
        reject(new Error(`launched server '${name}' exited during start (code ${code}, signal ${signal})`)),
      );
    });
    exited.catch(() => {});
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    await Promise.race([waitForPort(this.port, this.opts.readyTimeoutMs ?? 30_000, name), exited]);
    logger.info(`launched server '${name}' is up`, { server: name, port: this.port, pid: child.pid });
    return sub(this.opts.url);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child.pid) killGroup(child.pid, 'SIGKILL');
    if (this.stopped || child !== this.child) return;
    this.ready = undefined;
    if (Date.now() - this.startedAt > 30_000) this.backoffMs = 250; // it had been stable: start over
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
    this.opts.logger.warn(`launched server '${this.opts.name}' exited; restarting in ${delay} ms`, { code, signal });
    this.restartTimer = setTimeout(() => {
      this.url().catch((error: unknown) => this.opts.logger.error(String(error)));
    }, delay);
    this.restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child?.pid) return;
    const exited = new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
    );
    killGroup(child.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    killGroup(child.pid, 'SIGKILL');
  }
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls until the port accepts a TCP connection: a launched process gives no other readiness event. */
async function waitForPort(port: number, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`launched server '${name}' did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
