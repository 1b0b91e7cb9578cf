// Glob patterns of the policy language (`research.*`, `*-prod-*`): `*` is any run of characters (dots and
// slashes included), `?` one character. Compiled once to an anchored regex; no backtracking hazards
// because consecutive stars collapse and there are no alternations.

export interface NameMatcher {
  /** Exact names (the common case): a Set lookup. */
  exact: ReadonlySet<string>;
  globs: readonly RegExp[];
  /** The list contained `*` / `all`: matches everything. */
  all: boolean;
}

export const isGlob = (p: string): boolean => p.includes('*') || p.includes('?');

export function globToRegExp(pattern: string): RegExp {
  let re = '';
  let prevStar = false;
  for (const ch of pattern) {
    if (ch === '*') {
      if (!prevStar) re += '.*';
      prevStar = true;
      continue;
    }
    prevStar = false;
    re += ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export function compileNames(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  let all = false;
  for (const p of patterns) {
    if (p === '*' || p === 'all') all = true;
    else if (isGlob(p)) globs.push(globToRegExp(p));
    else exact.add(p);
  }
  return { exact, globs, all };
}

/** 2 exact, 1 glob, 0 the whole-list wildcard, -1 no match. */
export function matchScore(m: NameMatcher, name: string): number {
  if (m.exact.has(name)) return 2;
  for (const g of m.globs) if (g.test(name)) return 1;
  return m.all ? 0 : -1;
}
