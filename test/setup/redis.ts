// A real redis-server (Debian package) for tests: 127.0.0.1, a free port, no persistence.
// The suite shares one instance (ATOM_GOV_TEST_REDIS_URL); tests that stop Redis mid-test spawn their own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchParent } from '@atom-gov/devserver';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and resolves once the process has exited. */
  stop(): Promise<void>;
}

function redisServerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      'redis-server is not installed; run `bash scripts/ensure-system-packages.sh` (installs the Debian package redis-server)',
    );
  }
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitUntilReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`redis-server on port ${port} exited with code ${code} before it was ready:\n${output}`));
    };
    const cleanup = (): void => {
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Starts a redis-server; pass `port` to restart one on the port a stopped instance used. */
export async function spawnRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-redis-'));
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'notice',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.setEncoding('utf8');
  try {
    await waitUntilReady(child, port);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  // Keep draining output so a chatty server never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A SIGKILLed test process runs no cleanup: a detached watcher stops the server once this process is gone.
  const watchdog = watchParent(`kill -KILL ${child.pid ?? 0} 2>/dev/null; rm -rf '${dir}'`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    async stop() {
      watchdog.disarm();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Suite starter (test/setup/services.ts): one shared Redis, published as ATOM_GOV_TEST_REDIS_URL. */
export async function startRedis(): Promise<() => Promise<void>> {
  const server = await spawnRedisServer();
  process.env.ATOM_GOV_TEST_REDIS_URL = server.url;
  return async () => {
    await server.stop();
    delete process.env.ATOM_GOV_TEST_REDIS_URL;
  };
}
