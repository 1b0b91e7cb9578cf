// PII scan throughput on realistic MCP tool results (target >= 50 MB/s).
// Run after `npm run build`: node bench/pii.bench.mjs [--mb 16]
import { createPiiScanner } from '@atom-gov/pii';

const mbArg = process.argv.indexOf('--mb');
const targetMb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 16;

// Deterministic PRNG so every run scans the same bytes.
let seed = 42;
const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const words =
  'the of and to in is for on with that this server tool result file request response config build cache ' +
  'node module package version update error warning info debug user session token value list item index ' +
  'resource prompt sample echo annotation image audio text content structured long running operation'.split(' ');
const sentence = (n) => Array.from({ length: n }, () => pick(words)).join(' ');
const pii = () =>
  pick([
    'contact jane.doe@example.com',
    'call (415) 555-2671',
    'SSN 536-22-1234',
    'card 4111 1111 1111 1111',
    'from 203.0.113.42',
    'key AKIAIOSFODNN7EXAMPLE',
  ]);
const maybePii = (p) => (rand() < p ? ` ${pii()}` : '');

// server-everything-like results: echo, long text, structured content, resource links.
function everythingResult(i) {
  switch (i % 4) {
    case 0:
      return { content: [{ type: 'text', text: `Echo: ${sentence(20)}${maybePii(0.05)}` }] };
    case 1:
      return {
        content: [{ type: 'text', text: `${sentence(400)}${maybePii(0.2)}\n${sentence(300)}` }],
        isError: false,
      };
    case 2:
      return {
        content: [
          { type: 'text', text: JSON.stringify({ temperature: 21.5 + i, conditions: sentence(4), humidity: 64 }) },
        ],
        structuredContent: {
          temperature: 21.5 + i,
          conditions: sentence(4),
          humidity: 64,
          updatedAt: new Date(1.7e12 + i * 1000).toISOString(),
        },
      };
    default:
      return {
        content: Array.from({ length: 5 }, (_, k) => ({
          type: 'resource_link',
          uri: `test://static/resource/${i * 5 + k}`,
          name: `Resource ${i * 5 + k}`,
          description: `${sentence(12)}${maybePii(0.02)}`,
          mimeType: 'text/plain',
        })),
      };
  }
}

// server-filesystem-like results: listings, directory trees, file contents (source and JSON).
function filesystemResult(i) {
  switch (i % 3) {
    case 0: {
      const lines = Array.from({ length: 60 }, (_, k) =>
        rand() < 0.3 ? `[DIR] ${pick(words)}-${k}` : `[FILE] ${pick(words)}_${k}.${pick(['ts', 'json', 'md', 'png'])}`,
      );
      return { content: [{ type: 'text', text: lines.join('\n') }] };
    }
    case 1: {
      const tree = (depth) =>
        Array.from({ length: depth > 2 ? 3 : 5 }, (_, k) =>
          depth > 2 || rand() < 0.6
            ? { name: `${pick(words)}_${k}.ts`, type: 'file' }
            : { name: `${pick(words)}-${k}`, type: 'directory', children: tree(depth + 1) },
        );
      return { content: [{ type: 'text', text: JSON.stringify(tree(0), null, 2) }] };
    }
    default: {
      const code = Array.from(
        { length: 80 },
        (_, k) =>
          `  const ${pick(words)}${k} = await ${pick(words)}.${pick(words)}(${k}, '${pick(words)}'); // ${sentence(6)}`,
      ).join('\n');
      return { content: [{ type: 'text', text: `export async function main() {\n${code}${maybePii(0.3)}\n}\n` }] };
    }
  }
}

const results = [];
let bytes = 0;
for (let i = 0; bytes < targetMb * 1e6; i++) {
  const r = i % 2 === 0 ? everythingResult(i) : filesystemResult(i);
  results.push(r);
  bytes += Buffer.byteLength(JSON.stringify(r));
}

const scanner = createPiiScanner();
// Wall-clock MB/s and MB per CPU-second: on a shared, loaded machine the CPU figure is the stable one.
function measure(name, fn) {
  fn(results); // warm up the JIT on the whole set
  let best = { wall: 0, cpu: 0, found: 0 };
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const found = fn(results);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    if (bytes / 1e6 / cpu > best.cpu) best = { wall: bytes / 1e6 / wall, cpu: bytes / 1e6 / cpu, found };
  }
  console.log(
    `${name.padEnd(12)} ${best.wall.toFixed(1).padStart(7)} MB/s wall  ${best.cpu.toFixed(1).padStart(7)} MB/CPU-s  ` +
      `(${(bytes / 1e6).toFixed(1)} MB, ${results.length} results, ${best.found} findings)`,
  );
  return best.cpu;
}

const scan = measure('scanJson', (rs) => rs.reduce((n, r) => n + scanner.scanJson(r).summary.total, 0));
measure('redactJson', (rs) => rs.reduce((n, r) => n + scanner.redactJson(r).summary.total, 0));
const target = 50;
console.log(
  scan >= target
    ? `OK: scanJson >= ${target} MB per CPU-second`
    : `BELOW TARGET: scanJson < ${target} MB per CPU-second`,
);
process.exitCode = scan >= target ? 0 : 1;
