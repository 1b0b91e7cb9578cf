import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { createPiiScanner } from './pii-scanner.js';
import { BUILTIN_PII_KINDS } from './pii.types.js';

interface CorpusEntry {
  text: string;
  pii: Array<{ kind: string; value: string }>;
  note?: string;
  /** Written after the recognizers were tuned and scored as first run (not tuned against). */
  heldOut?: boolean;
}

const corpus = JSON.parse(readFileSync(new URL('./corpus/pii-corpus.json', import.meta.url), 'utf8')) as CorpusEntry[];

interface Score {
  tp: number;
  fp: number;
  fn: number;
}

// Entity-level scoring: a finding is a true positive when it overlaps a labelled span of the same kind.
function evaluate(entries: readonly CorpusEntry[]): { scores: Record<string, Score>; mistakes: string[] } {
  const scanner = createPiiScanner();
  const scores: Record<string, Score> = Object.fromEntries(BUILTIN_PII_KINDS.map((k) => [k, { tp: 0, fp: 0, fn: 0 }]));
  const mistakes: string[] = [];
  for (const entry of entries) {
    const expected = entry.pii.map((p) => {
      const start = entry.text.indexOf(p.value);
      if (start < 0) throw new Error(`corpus label '${p.value}' is not in '${entry.text}'`);
      return { kind: p.kind, start, end: start + p.value.length, matched: false };
    });
    for (const f of scanner.scanText(entry.text)) {
      const hit = expected.find((e) => !e.matched && e.kind === f.kind && f.start < e.end && e.start < f.end);
      const score = scores[f.kind] as Score;
      if (hit) {
        hit.matched = true;
        score.tp++;
      } else {
        score.fp++;
        mistakes.push(`FP ${f.kind}/${f.label} '${entry.text.slice(f.start, f.end)}' in: ${entry.text}`);
      }
    }
    for (const e of expected.filter((x) => !x.matched)) {
      (scores[e.kind] as Score).fn++;
      mistakes.push(`FN ${e.kind} '${entry.text.slice(e.start, e.end)}' in: ${entry.text}`);
    }
  }
  return { scores, mistakes };
}

describe('labelled PII corpus', () => {
  it('has at least 200 strings with positives of every kind and look-alikes', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(corpus.filter((e) => e.pii.length === 0).length).toBeGreaterThanOrEqual(80);
    for (const kind of BUILTIN_PII_KINDS) {
      expect(corpus.filter((e) => e.pii.some((p) => p.kind === kind)).length).toBeGreaterThanOrEqual(10);
    }
  });

  it('reaches precision and recall >= 0.95 for every kind', () => {
    const { scores, mistakes } = evaluate(corpus);
    const heldOut = corpus.filter((e) => e.heldOut);
    const held = Object.values(evaluate(heldOut).scores).reduce(
      (a, s) => ({ tp: a.tp + s.tp, fp: a.fp + s.fp, fn: a.fn + s.fn }),
      { tp: 0, fp: 0, fn: 0 },
    );
    const rows = Object.entries(scores).map(([kind, s]) => ({
      kind,
      ...s,
      precision: s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp),
      recall: s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn),
    }));
    const table = rows
      .map(
        (r) =>
          `${r.kind.padEnd(12)} tp=${r.tp} fp=${r.fp} fn=${r.fn} precision=${r.precision.toFixed(3)} recall=${r.recall.toFixed(3)}`,
      )
      .join('\n');
    console.log(
      `PII corpus (${corpus.length} strings)\n${table}\n` +
        `held-out subset (${heldOut.length} strings): tp=${held.tp} fp=${held.fp} fn=${held.fn}` +
        (mistakes.length ? `\n${mistakes.join('\n')}` : ''),
    );
    for (const r of rows) {
      expect({ kind: r.kind, precisionOk: r.precision >= 0.95, recallOk: r.recall >= 0.95 }).toEqual({
        kind: r.kind,
        precisionOk: true,
        recallOk: true,
      });
    }
  });
});
