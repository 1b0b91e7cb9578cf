// Runs a zod schema over one YAML document and turns zod's issues into positioned ConfigIssues
// with plain-language messages and nearest-key suggestions.
import type { z } from 'zod';
import type { ConfigIssue } from './errors.js';
import { issueAt, nearest, type PathSegment, type SourceDoc, suggest } from './yaml-source.js';

type AnySchema = z.ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  catchall?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  element?: AnySchema;
  valueType?: AnySchema;
  in?: AnySchema;
  values?: unknown[];
  entries?: Record<string, unknown>;
}

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas reachable at `path` (several when a union is involved). */
function objectsAt(schema: AnySchema, path: readonly PathSegment[]): Def[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return objectsAt(def.innerType!, path);
    case 'pipe':
      return objectsAt(def.in!, path);
    case 'union':
      return def.options!.flatMap((o) => objectsAt(o, path));
    default:
      break;
  }
  if (path.length === 0) return def.type === 'object' ? [def] : [];
  const [head, ...rest] = path;
  if (def.type === 'object') {
    const child =
      def.shape![String(head)] ?? (def.catchall && defOf(def.catchall).type !== 'never' ? def.catchall : undefined);
    return child ? objectsAt(child, rest) : [];
  }
  if (def.type === 'array') return objectsAt(def.element!, rest);
  if (def.type === 'record') return objectsAt(def.valueType!, rest);
  return [];
}

export function knownKeysAt(schema: AnySchema, path: readonly PathSegment[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape ?? {})))];
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function hasPath(root: unknown, path: readonly PathSegment[]): boolean {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !(seg in (v as object))) return false;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return true;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  int: 'an integer',
};

/**
 * Validates `value` (the document's data, possibly a sub-tree at `base`) and returns the typed
 * result or positioned issues.
 */
export function validateDoc<T>(
  schema: z.ZodType<T>,
  src: SourceDoc,
  value: unknown,
  base: readonly PathSegment[] = [],
): { ok: true; data: T } | { ok: false; issues: ConfigIssue[] } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  const issues: ConfigIssue[] = [];
  const raw = result.error.issues as ZodIssueLike[];
  // An object with an unknown key also fails its "needs at least one of" refinement; the unknown
  // key is the real problem, so the follow-on message is dropped.
  const unknownAt = new Set(raw.filter((i) => i.code === 'unrecognized_keys').map((i) => JSON.stringify(i.path)));
  // A missing key that an unknown sibling is a typo of (`atom-gov:` for `atom_gov:`) is one mistake, not two.
  const typoed = new Set(
    raw
      .filter((i) => i.code === 'unrecognized_keys')
      .flatMap((i) => {
        const known = knownKeysAt(schema, i.path as PathSegment[]);
        return (i.keys ?? []).map((k) => JSON.stringify([...i.path, nearest(k, known)]));
      }),
  );
  for (const issue of raw) {
    if (issue.code === 'custom' && unknownAt.has(JSON.stringify(issue.path))) continue;
    if (
      issue.code === 'invalid_type' &&
      typoed.has(JSON.stringify(issue.path)) &&
      !hasPath(value, issue.path as PathSegment[])
    )
      continue;
    convert(issue, schema, src, value, base, issues);
  }
  return { ok: false, issues: dedupe(issues) };
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  errors?: ZodIssueLike[][];
  minimum?: number | bigint;
  maximum?: number | bigint;
  origin?: string;
  inclusive?: boolean;
  format?: string;
}

function convert(
  issue: ZodIssueLike,
  schema: AnySchema,
  src: SourceDoc,
  root: unknown,
  base: readonly PathSegment[],
  out: ConfigIssue[],
  prefix: readonly PathSegment[] = [],
): void {
  const rel = [...prefix, ...(issue.path as PathSegment[])];
  const full = [...base, ...rel];
  const value = valueAt(root, rel);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(schema, rel);
      for (const key of issue.keys ?? []) {
        const hint = suggest(key, known) ?? (known.length > 0 ? `expected one of: ${known.join(', ')}` : undefined);
        out.push(issueAt(src, [...full, key], `unknown key '${key}'`, { key: true, ...(hint ? { hint } : {}) }));
      }
      return;
    }
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected ?? ''] ?? issue.expected ?? 'another type';
      if (!hasPath(root, rel)) {
        const key = rel[rel.length - 1];
        out.push(issueAt(src, full, `missing required key '${String(key)}' (${expected})`));
        return;
      }
      const last = rel[rel.length - 1];
      const hint = typeof last === 'string' ? keyHint(schema, rel) : undefined;
      out.push(issueAt(src, full, `expected ${expected}, got ${describeValue(value)}`, hint ? { hint } : {}));
      return;
    }
    case 'invalid_value': {
      const allowed = (issue.values ?? []).map(String);
      const hint = typeof value === 'string' ? suggest(value, allowed) : undefined;
      out.push(
        issueAt(
          src,
          full,
          `invalid value ${describeValue(value)}: expected one of ${allowed.join(', ')}`,
          hint ? { hint } : {},
        ),
      );
      return;
    }
    case 'invalid_union': {
      const branches = issue.errors ?? [];
      // A branch whose issues are all "wrong type right here" did not match the shape at all;
      // prefer a branch that got further, since its messages are about the user's actual intent.
      const deeper = branches.filter((b) => b.some((i) => i.path.length > 0 || i.code !== 'invalid_type'));
      if (deeper.length > 0) {
        const best = deeper.reduce((a, b) => (b.length < a.length ? b : a));
        for (const i of best) convert(i, schema, src, root, base, out, rel);
        return;
      }
      const expected = [...new Set(branches.flat().map((i) => TYPE_NAMES[i.expected ?? ''] ?? i.expected ?? '?'))];
      if (!hasPath(root, rel)) {
        out.push(
          issueAt(src, full, `missing required key '${String(rel[rel.length - 1])}' (${expected.join(' or ')})`),
        );
        return;
      }
      const hint = keyHint(schema, rel);
      out.push(
        issueAt(src, full, `expected ${expected.join(' or ')}, got ${describeValue(value)}`, hint ? { hint } : {}),
      );
      return;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what =
        issue.origin === 'array'
          ? `${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item(s)`
          : `${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}`;
      const msg = issue.message.startsWith('Too') ? `expected ${what}, got ${describeValue(value)}` : issue.message;
      out.push(issueAt(src, full, msg));
      return;
    }
    case 'invalid_format': {
      const msg = issue.message.startsWith('Invalid')
        ? `invalid ${issue.format ?? 'format'}: got ${describeValue(value)}`
        : issue.message;
      out.push(issueAt(src, full, msg));
      return;
    }
    default:
      out.push(issueAt(src, full, issue.message));
  }
}

/** When a value is wrong because the key itself is a typo of a known key (catch-all maps). */
function keyHint(schema: AnySchema, rel: readonly PathSegment[]): string | undefined {
  const key = rel[rel.length - 1];
  if (typeof key !== 'string') return undefined;
  const known = knownKeysAt(schema, rel.slice(0, -1));
  if (known.includes(key)) return undefined;
  return suggest(key, known);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}:${i.line}:${i.column}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
