// The load generator shared by bench/mcp-gateway.bench.mjs and bench/obligations.bench.mjs (not a benchmark itself):
// target processes (started detached, stopped as a group), server-everything in streamableHttp mode, and raw
// HTTP/1.1 MCP sessions (node:http, keep-alive, one socket per session). Each session is initialized first
// (initialize, notifications/initialized, then only JSON-RPC POSTs), so the client costs the same small amount for
// every variant and is not the bottleneck an SDK Client (schema validation, SSE parser) would be.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');

/** The number after `--name` on the command line, or `fallback`. */
export function numberArg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The word after `--name` on the command line, or undefined. */
export function stringArg(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// mcp-proxy's one shared upstream Client issues every fetch with the same long-lived AbortSignal; undici leaves an
// abort listener on it per request until GC, and Node warns once per listener past 1,500. The warnings (hundreds
// of lines) are silenced so the results stay readable; the cost they describe is part of mcp-proxy's figures.
const QUIET = '--disable-warning=MaxListenersExceededWarning';
const children = [];

/** Starts a node process (own process group, stdout piped for its URL line); stopTargets() ends it. */
export function startTarget(args, env = {}) {
  const child = spawn(process.execPath, [QUIET, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  children.push(child);
  return child;
}

/** The target's first stdout line (its URL); a target that dies before printing it fails the run. */
export const firstLine = (child) =>
  new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`benchmark target exited with ${code} before printing its URL`)));
  });

/** SIGTERM to every target's process group, then waits (at most 10 s each) for it to exit (targets report on exit). */
export function stopTargets() {
  return Promise.all(
    children.map((c) => {
      if (c.exitCode !== null) return undefined;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        return undefined; // already gone
      }
      return Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }),
  );
}

/** server-everything in streamableHttp mode on a free port, once it answers initialize: { url, pid }. */
export async function startEverythingHttp() {
  const port = await freePort();
  const server = startTarget([everything, 'streamableHttp'], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; ; i++) {
    try {
      await new Session(url).open();
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, pid: server.pid };
}

/** CPU seconds (user + system) of a process from /proc. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** "1.23 0.98 0.75" from /proc/loadavg. */
export const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** One POST/GET/DELETE on a keep-alive agent; resolves with status, headers and the whole body. */
function send(agent, url, method, headers, body, retried = false) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      // A kept-alive socket the server closed while idle (its 5 s keep-alive timeout, e.g. while 64 sessions
      // open on a loaded machine): Node's documented remedy is to send again once on a fresh socket.
      if (!retried && req.reusedSocket && error.code === 'ECONNRESET')
        resolve(send(agent, url, method, headers, body, true));
      else reject(error);
    });
    req.end(body);
  });
}

/** The JSON-RPC message in a response body (plain JSON or one SSE `data:` event). */
function message(body) {
  const i = body.indexOf('data: ');
  return JSON.parse(i >= 0 ? body.slice(i + 6, body.indexOf('\n', i)) : body);
}

/**
 * One MCP session calling tools/call `echo`.
 * opts.apiKey: sent as a bearer token; opts.listTools: tools/list after initializing, as MCP clients do (this is
 * also when pinning verifies the definitions); opts.message(id): the echo argument of call `id`; opts.expect(id):
 * text every answer must contain (a cheap correctness check on every call).
 */
export class Session {
  constructor(url, opts = {}) {
    this.url = new URL(url);
    this.opts = opts;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.base = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
    };
    this.nextId = 1;
  }
  async open() {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    };
    const r = await send(this.agent, this.url, 'POST', this.base, JSON.stringify(init));
    const sid = r.headers['mcp-session-id'];
    if (r.status !== 200 || !sid)
      throw new Error(`initialize at ${this.url}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    this.headers = {
      ...this.base,
      'mcp-session-id': sid,
      'mcp-protocol-version': message(r.body).result.protocolVersion,
    };
    const n = await send(
      this.agent,
      this.url,
      'POST',
      this.headers,
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    );
    if (n.status !== 202) throw new Error(`notifications/initialized: HTTP ${n.status}`);
    if (this.opts.listTools) {
      const l = await send(
        this.agent,
        this.url,
        'POST',
        this.headers,
        '{"jsonrpc":"2.0","id":0,"method":"tools/list"}',
      );
      if (l.status !== 200 || !l.body.includes('"echo"'))
        throw new Error(`tools/list: HTTP ${l.status} ${l.body.slice(0, 200)}`);
    }
  }
  async call() {
    const id = this.nextId++;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: this.opts.message(id) } },
    });
    const r = await send(this.agent, this.url, 'POST', this.headers, body);
    if (r.status !== 200 || !r.body.includes(this.opts.expect(id))) {
      throw new Error(`tools/call: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    }
  }
  async close() {
    await send(this.agent, this.url, 'DELETE', this.headers).catch(() => undefined);
    this.agent.destroy();
  }
}

/**
 * `sessions` sessions on `url` (Session options `session`), 10 warm-up calls each, then calls as fast as they
 * answer for `seconds`: every call's latency (ms), the wall time (s) and the CPU seconds `cpuPid` spent meanwhile.
 */
export async function run({ url, session, sessions, seconds, cpuPid }) {
  const all = Array.from({ length: sessions }, () => new Session(url, session));
  await Promise.all(all.map((s) => s.open()));
  await Promise.all(
    all.map(async (s) => {
      for (let i = 0; i < 10; i++) await s.call();
    }),
  ); // warm-up
  const latencies = [];
  const cpu0 = cpuPid ? cpuSeconds(cpuPid) : 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    all.map(async (s) => {
      while (performance.now() < until) {
        const t = performance.now();
        await s.call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuPid ? cpuSeconds(cpuPid) - cpu0 : 0;
  await Promise.all(all.map((s) => s.close()));
  return { latencies, wall, cpu };
}

/** Calls, calls/s, p50/p99 latency (ms) and CPU ms per call over several runs of one variant. */
export function summarise(runs) {
  const lat = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const wall = runs.reduce((a, r) => a + r.wall, 0);
  const cpu = runs.reduce((a, r) => a + r.cpu, 0);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    calls: lat.length,
    rps: lat.length / wall,
    p50: q(0.5),
    p99: q(0.99),
    cpuMsPerCall: (cpu * 1000) / lat.length,
  };
}

/**
 * Every variant ({ key, url, session, pid }) runs `rounds` times with `sessions` sessions for `seconds`, interleaved
 * in rounds with rotating order so a noisy machine hits them alike: { [key]: runs in round order }.
 */
export async function interleavedRounds(variants, { rounds, sessions, seconds }) {
  const runs = Object.fromEntries(variants.map((v) => [v.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length];
      runs[v.key].push(await run({ url: v.url, session: v.session, sessions, seconds, cpuPid: v.pid }));
    }
  }
  return runs;
}
