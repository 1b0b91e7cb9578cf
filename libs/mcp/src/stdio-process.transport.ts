// An SDK Transport over a child process's stdin/stdout, like the SDK's StdioClientTransport, but the child runs in
// its own process group so closing kills everything it spawned (npx wrappers, shells), and stderr lines go to the
// gateway log tagged with the server name. Framing is the SDK's (ReadBuffer / serializeMessage).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ReadBuffer, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { McpLogger } from './types.js';

export interface StdioProcessOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Tag for stderr lines and errors. */
  name: string;
  logger: McpLogger;
  /** Grace period between SIGTERM and SIGKILL of the process group. */
  killGraceMs?: number;
}

export class StdioProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child?: ChildProcess;
  private readonly buffer = new ReadBuffer();
  private closed = false;
  private exited?: Promise<void>;

  constructor(private readonly opts: StdioProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { command, args, env, cwd, name, logger } = this.opts;
      const child = spawn(command, args, {
        env: { ...getDefaultEnvironment(), ...env },
        cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group: close() signals -pid
        windowsHide: true,
      });
      this.child = child;
      this.exited = new Promise((done) => child.once('close', () => done()));
      child.once('error', (error) => {
        const wrapped = new Error(`upstream '${name}': cannot start '${command}': ${error.message}`);
        if (!child.pid) reject(wrapped);
        else this.onerror?.(wrapped);
      });
      child.once('spawn', () => resolve());
      child.once('close', (code, signal) => {
        if (!this.closed) logger.warn(`upstream '${name}' exited`, { server: name, code, signal });
        // The leader is gone; grandchildren it left behind in its group go with it.
        if (child.pid) killGroup(child.pid, 'SIGKILL');
        this.finish();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
      if (child.stderr) {
        createInterface({ input: child.stderr }).on('line', (line) =>
          logger.info(`[${name}] ${line}`, { server: name, stream: 'stderr' }),
        );
      }
    });
  }

  private onData(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch (error) {
      this.onerror?.(error as Error);
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (error) {
        // A line that is JSON but not JSON-RPC: report and keep reading the next lines.
        this.onerror?.(
          new Error(`upstream '${this.opts.name}' wrote an invalid JSON-RPC message: ${(error as Error).message}`),
        );
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || this.closed) return reject(new Error(`upstream '${this.opts.name}' is not running`));
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      killGroup(child.pid, 'SIGTERM');
      const grace = this.opts.killGraceMs ?? 2000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise<void>((r) => (timer = setTimeout(r, grace)))]);
      clearTimeout(timer);
    }
    // Whatever the leader did, children it left in the group go too.
    if (child?.pid) killGroup(child.pid, 'SIGKILL');
    this.finish();
  }

  private finish(): void {
    if (this.buffer) this.buffer.clear();
    const onclose = this.onclose;
    this.onclose = undefined;
    this.closed = true;
    onclose?.();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
