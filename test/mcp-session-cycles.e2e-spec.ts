// Fault case of issue 3: many session open/close cycles through the real gateway (a child process run with
// --expose-gc, test/fixtures/gc-gateway.mjs) leave no child process and flat memory. 1,000 cycles run against a
// `url:` upstream (server-everything over Streamable HTTP; ~65 s at load 10 on two cores, the timeout allows for
// a busier machine); per-session stdio upstreams cost a process spawn
// each (~1 s each on two busy cores), so that part runs 60 cycles and checks every process is gone. Needs `npm run build`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const key = 'agk_cycles_0123456789';
let upstream: ChildProcessWithoutNullStreams;
let gateway: ChildProcessWithoutNullStreams;
let lines: Interface;
let base: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });

function nextLine(): Promise<string> {
  return new Promise((resolve) => lines.once('line', resolve));
}

async function memory(): Promise<{ rss: number; heapUsed: number }> {
  const answer = nextLine();
  gateway.stdin.write('mem\n');
  return JSON.parse(await answer) as { rss: number; heapUsed: number };
}

/** Live descendants of a process (children, grandchildren...), from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parent.set(Number(d), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

/** Process exits are not observable from here: poll /proc until the gateway has no descendants (bounded). */
async function noDescendantsWithin(ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = descendants(gateway.pid!);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = descendants(gateway.pid!);
  }
  return left;
}

/** One session: initialize (+ initialized), one echo call, DELETE, close. */
async function cycle(server: string, n: number): Promise<void> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/${server}`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: 'cycles', version: '1' });
  await client.connect(transport);
  const r = await client.callTool({ name: 'echo', arguments: { message: `c${n}` } });
  expect(r.content).toEqual([{ type: 'text', text: `Echo: c${n}` }]);
  await transport.terminateSession();
  await client.close();
}

/** Cycles number `from` to `to` - 1, `parallel` at a time. */
async function cycles(server: string, from: number, to: number, parallel: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < to) {
        const n = next++;
        await cycle(server, n);
        if ((n + 1) % 100 === 0) process.stderr.write(`[cycles] ${server}: ${n + 1} done\n`);
      }
    }),
  );
}

beforeAll(async () => {
  const port = await freePort();
  upstream = spawn(process.execPath, [everything, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    detached: true,
  });
  // server-everything announces itself on stderr once it listens.
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: upstream.stderr }).on('line', (l) => l.includes('listening') && resolve());
    upstream.once('exit', (code) => reject(new Error(`server-everything exited (${code})`)));
  });
  gateway = spawn(
    process.execPath,
    [
      '--expose-gc',
      fileURLToPath(new URL('./fixtures/gc-gateway.mjs', import.meta.url)),
      `http://127.0.0.1:${port}/mcp`,
      key,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // The gateway's log, minus the one line every spawned upstream prints.
  createInterface({ input: gateway.stderr }).on('line', (l) => {
    if (!l.includes('Starting default (STDIO) server')) process.stderr.write(`${l}\n`);
  });
  lines = createInterface({ input: gateway.stdout });
  base = await nextLine();
}, 60_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((r) => gateway.once('exit', r));
    gateway.stdin.end(); // the fixture closes the gateway and its audit store, then exits
    const timer = setTimeout(() => gateway.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  if (upstream) process.kill(-upstream.pid!, 'SIGTERM');
}, 30_000);

describe('session open/close cycles through the gateway', () => {
  it('1,000 cycles on an HTTP upstream: no child process, heap and RSS flat from cycle 100 to 1,000', async () => {
    await cycles('everything_http', 0, 100, 8);
    const at100 = await memory();
    await cycles('everything_http', 100, 1000, 8);
    const at1000 = await memory();
    const mb = (b: number) => b / 1024 / 1024;
    process.stderr.write(
      `[cycles] heapUsed ${mb(at100.heapUsed).toFixed(1)} -> ${mb(at1000.heapUsed).toFixed(1)} MB, ` +
        `rss ${mb(at100.rss).toFixed(1)} -> ${mb(at1000.rss).toFixed(1)} MB\n`,
    );
    // A leak of even 10 kB per session would add ~9 MB over 900 sessions.
    expect(mb(at1000.heapUsed - at100.heapUsed)).toBeLessThan(6);
    expect(mb(at1000.rss - at100.rss)).toBeLessThan(40);
    expect(descendants(gateway.pid!)).toEqual([]);
  }, 300_000);

  it('60 cycles with a stdio process per session: every process group is gone afterwards', async () => {
    await cycles('everything', 0, 20, 4);
    expect(await noDescendantsWithin(5_000)).toEqual([]);
    const at20 = await memory();
    await cycles('everything', 20, 60, 4);
    expect(await noDescendantsWithin(5_000)).toEqual([]);
    const at60 = await memory();
    process.stderr.write(
      `[cycles stdio] heapUsed ${(at20.heapUsed / 1048576).toFixed(1)} -> ${(at60.heapUsed / 1048576).toFixed(1)} MB\n`,
    );
    expect((at60.heapUsed - at20.heapUsed) / 1048576).toBeLessThan(6);
  }, 180_000);
});
