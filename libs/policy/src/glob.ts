// Glob patterns of the policy language (`research.*`, `*-prod-*`): `*` is any run of characters (dots and
// slashes included), `?` one character; everything else is literal.

export interface NameMatcher {
  /** Exact names (the common case): a Set lookup. */
  exact: ReadonlySet<string>;
  globs: readonly Glob[];
  /** The list contained `*` / `all`: matches everything. */
  all: boolean;
}

export const isGlob = (p: string): boolean => p.includes('*') || p.includes('?');

/** A compiled glob. Matching is a two-pointer scan, O(text × pattern) at worst: argument values can be large,
 * and a regex such as `^.*a.*b.*$` backtracks polynomially on them. */
export interface Glob {
  readonly pattern: string;
  test(text: string): boolean;
}

export function compileGlob(pattern: string): Glob {
  // Consecutive stars mean the same as one.
  const p = pattern.replace(/\*{2,}/g, '*');
  const noWildcards = !isGlob(p);
  return {
    pattern,
    test(text: string): boolean {
      if (noWildcards) return text === p;
      let i = 0;
      let j = 0;
      let star = -1;
      let mark = 0;
      while (i < text.length) {
        const c = p.charCodeAt(j);
        if (j < p.length && (c === 63 /* ? */ || c === text.charCodeAt(i))) {
          i++;
          j++;
        } else if (j < p.length && c === 42 /* * */) {
          star = j++;
          mark = i;
        } else if (star >= 0) {
          j = star + 1;
          i = ++mark;
        } else return false;
      }
      while (j < p.length && p.charCodeAt(j) === 42) j++;
      return j === p.length;
    },
  };
}

export function compileNames(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: Glob[] = [];
  let all = false;
  for (const p of patterns) {
    if (p === '*' || p === 'all') all = true;
    else if (isGlob(p)) globs.push(compileGlob(p));
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
