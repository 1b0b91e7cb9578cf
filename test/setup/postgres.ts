// A real PostgreSQL server (Debian's binaries) for tests: 127.0.0.1, a free port, a throw-away data dir.
// The suite shares one server (ATOM_GOV_TEST_PG_URL); tests create their own databases in it for isolation.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { watchParent } from '@atom-gov/devserver';

const run = promisify(execFile);

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/<database> (trust auth, no password). */
  readonly url: string;
  readonly port: number;
  /** Milliseconds from initdb to a connectable database. */
  readonly startMs: number;
  /** Fast shutdown (`pg_ctl stop -m fast`), then removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server but keeps its data (an outage); `resume()` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** Directory holding initdb/pg_ctl: Debian's /usr/lib/postgresql/<newest>/bin, else PATH. */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  try {
    const pgCtl = execFileSync('sh', ['-c', 'command -v initdb >/dev/null && readlink -f "$(command -v pg_ctl)"'], {
      encoding: 'utf8',
    }).trim();
    if (pgCtl !== '') return join(pgCtl, '..');
  } catch {
    // fall through to the message below
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) are not installed; run `bash scripts/ensure-postgres.sh` ' +
      '(installs the Debian package postgresql)',
  );
}

async function freePort(): Promise<number> {
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

/** initdb refuses to run as root, so as root the server runs as Debian's `postgres` user. */
function asServerUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { prefix: ['runuser', '-u', 'postgres', '--'], uid, gid };
  } catch {
    throw new Error(
      'running the tests as root needs the `postgres` user to own the test server; ' +
        "run `bash scripts/ensure-postgres.sh` (Debian's postgresql package creates it)",
    );
  }
}

/** Starts a private PostgreSQL and creates `database` in it. */
export async function spawnPostgres(opts: { database?: string } = {}): Promise<PostgresServer> {
  const started = performance.now();
  const bin = postgresBinDir();
  const user = asServerUser();
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-pg-'));
  const data = join(dir, 'data');
  if (user.uid !== undefined && user.gid !== undefined) chownSync(dir, user.uid, user.gid);
  // [file, args] running one of the server binaries as the server's user.
  const command = (cmd: string, args: string[]): [string, string[]] => {
    const [file, ...rest] = [...user.prefix, join(bin, cmd), ...args];
    return [file as string, rest];
  };
  const as = (cmd: string, args: string[]) => run(...command(cmd, args), { cwd: dir });
  const port = await freePort();
  let running = false;
  // pg_ctl daemonises the server: if the test process dies without calling stop(), stop it on the way out.
  const stopOnExit = (): void => {
    try {
      execFileSync(...command('pg_ctl', ['stop', '-D', data, '-m', 'immediate']), { stdio: 'ignore', cwd: dir });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A killed test run (Ctrl-C, `timeout`) emits no 'exit': stop the server, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals): void => {
    stopOnExit();
    process.off('exit', stopOnExit);
    process.kill(process.pid, signal);
  };
  // A SIGKILLed test process runs neither: a detached watcher stops the server once this process is gone.
  const pgCtlStop = command('pg_ctl', ['stop', '-D', data, '-m', 'immediate'])
    .flat()
    .map((word) => `'${word}'`)
    .join(' ');
  const watchdog = watchParent(`${pgCtlStop} >/dev/null 2>&1; rm -rf '${dir}'`);
  const stop = async (): Promise<void> => {
    watchdog.disarm();
    process.off('exit', stopOnExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (running) {
      running = false;
      await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const startServer = async (): Promise<void> => {
    await as('pg_ctl', [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '30',
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    ]);
    running = true;
  };
  const pause = async (): Promise<void> => {
    await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
    running = false;
  };
  process.once('exit', stopOnExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await startServer();
    const database = opts.database ?? 'atom_gov_test';
    await run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database]);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/${database}`,
      port,
      startMs: Math.round(performance.now() - started),
      stop,
      pause,
      resume: startServer,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Suite starter (test/setup/services.ts): one shared PostgreSQL, published as ATOM_GOV_TEST_PG_URL. */
export async function startPostgres(): Promise<() => Promise<void>> {
  const server = await spawnPostgres();
  process.env.ATOM_GOV_TEST_PG_URL = server.url;
  return async () => {
    await server.stop();
    delete process.env.ATOM_GOV_TEST_PG_URL;
  };
}
