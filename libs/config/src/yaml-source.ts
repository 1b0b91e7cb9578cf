// Parsed YAML that remembers where every value came from, so issues carry file:line:column.
import { distance } from 'fastest-levenshtein';
import {
  type Document,
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Node,
} from 'yaml';
import type { ConfigIssue } from './errors.js';

export type PathSegment = string | number;

export interface SourceDoc {
  file: string;
  /** Index of the document in a multi-document file. */
  index: number;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain JS (aliases resolved). */
  value: unknown;
}

export interface ParsedFile {
  docs: SourceDoc[];
  issues: ConfigIssue[];
}

export function parseYamlFile(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const all = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const issues: ConfigIssue[] = [];
  const docs: SourceDoc[] = [];
  // parseAllDocuments returns an EmptyStream (no docs) for empty text.
  const list = Array.isArray(all) ? all : [];
  list.forEach((doc, index) => {
    for (const e of [...doc.errors, ...doc.warnings]) {
      const pos = lines.linePos(e.pos[0]);
      issues.push({
        file,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `YAML ${doc.errors.includes(e) ? 'syntax error' : 'warning'}: ${firstLine(e.message)}`,
        severity: doc.errors.includes(e) ? 'error' : 'warning',
      });
    }
    if (doc.errors.length > 0) return;
    docs.push({ file, index, doc, lines, value: doc.toJS({ maxAliasCount: 1000 }) as unknown });
  });
  return { docs, issues };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/\s+at line \d+, column \d+:?$/, '');
}

/** Dotted path with list indices: `atom_gov.servers[0].name`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/**
 * Finds the node for `path`. With `key: true` it returns the key node of the last segment (for
 * "unknown key" issues); when the path does not exist it returns the deepest existing ancestor.
 */
export function nodeAt(src: SourceDoc, path: readonly PathSegment[], key = false): Node | null {
  let node: unknown = src.doc.contents;
  let last: Node | null = (node as Node | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(src.doc);
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) === String(seg) : p.key === seg));
      if (!pair) return last;
      const isLast = i === path.length - 1;
      if (isLast && key && pair.key && isScalar(pair.key)) return pair.key;
      // A key with no value (`name:`) has no value node: point at the key instead.
      node = pair.value ?? pair.key;
      if (!isPair(node) && node) last = node as Node;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!item) return last;
      node = item;
      last = item as Node;
    } else {
      return last;
    }
  }
  return last;
}

export function positionOf(
  src: SourceDoc,
  path: readonly PathSegment[],
  key = false,
): { line: number; column: number } {
  const node = nodeAt(src, path, key);
  const offset = node?.range?.[0] ?? 0;
  const pos = src.lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

export function issueAt(
  src: SourceDoc,
  path: readonly PathSegment[],
  message: string,
  opts: { hint?: string; key?: boolean; severity?: 'error' | 'warning' } = {},
): ConfigIssue {
  const pos = positionOf(src, path, opts.key);
  return {
    file: src.file,
    line: pos.line,
    column: pos.column,
    path: formatPath(path),
    message,
    ...(opts.hint ? { hint: opts.hint } : {}),
    severity: opts.severity ?? 'error',
  };
}

/** The candidate `suggest` would propose, or undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return /did you mean '(.*)'\?$/.exec(suggest(word, candidates) ?? '')?.[1];
}

/** "did you mean 'x'?" for the nearest candidate within a small edit distance, else undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // Allow roughly one typo per three characters; beyond that a suggestion is noise.
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestDistance <= limit) return `did you mean '${best}'?`;
  // A shortened name (`cloudflare` for `cloudflare_mcp`) is a likely slip too.
  const lower = word.toLowerCase();
  const prefixed = word.length >= 3 ? candidates.find((c) => c.toLowerCase().startsWith(lower)) : undefined;
  return prefixed !== undefined ? `did you mean '${prefixed}'?` : undefined;
}
