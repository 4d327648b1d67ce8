// Detection metrics (issue #4 part 7): scikit-learn's ROC, AUC, AP, accuracy
// and macro recall (reference values in fixtures/metrics/sklearn.json, written
// by test/support/make_metrics_fixture.py with scikit-learn 1.2.1), AUC against
// the Mann–Whitney U statistic, and the equal error rate on hand-made curves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracy, averagePrecision, binaryMetrics, equalErrorRate, macroRecall, rocAuc, rocCurve, trapezoidArea } from '../src/eval/metrics';
import { repoRoot } from './support/paths';

interface Case {
  name: string;
  labels: number[];
  scores: number[];
  fpr: number[];
  tpr: number[];
  thresholds: number[];
  auc: number;
  ap: number;
  accuracy: number;
  macroRecall: number;
  mf1: number;
}
const reference = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/metrics/sklearn.json'), 'utf8')) as { sklearn: string; cases: Case[] };

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-12) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol);
}

/** AUC as the Mann–Whitney U statistic: mean ranks for ties, U / (nPos · nNeg). */
function mannWhitneyAuc(labels: number[], scores: number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const rank = new Float64Array(scores.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) rank[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const nPos = labels.filter((l) => l === 1).length;
  const nNeg = labels.length - nPos;
  let rPos = 0;
  labels.forEach((l, i) => (rPos += l === 1 ? rank[i] : 0));
  return (rPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

describe('against scikit-learn', () => {
  it(`has the reference cases (scikit-learn ${reference.sklearn})`, () => {
    expect(reference.cases.length).toBeGreaterThanOrEqual(9);
    expect(reference.cases.some((c) => new Set(c.scores).size < c.scores.length / 2)).toBe(true); // heavy ties
  });

  for (const c of reference.cases) {
    it(`${c.name}: roc_curve (drop_intermediate=False), auc, average_precision, accuracy, macro recall, mF1`, () => {
      const roc = rocCurve(c.labels, c.scores);
      expect(roc.thresholds[0]).toBe(Infinity);
      expectClose(roc.fpr, c.fpr, 0);
      expectClose(roc.tpr, c.tpr, 0);
      expectClose(roc.thresholds.subarray(1), c.thresholds, 0);
      expect(rocAuc(c.labels, c.scores)).toBeCloseTo(c.auc, 14);
      expect(averagePrecision(c.labels, c.scores)).toBeCloseTo(c.ap, 14);
      expect(accuracy(c.labels, c.scores)).toBe(c.accuracy);
      expect(macroRecall(c.labels, c.scores)).toBeCloseTo(c.macroRecall, 15);
      const m = binaryMetrics(c.labels, c.scores);
      expect(m.mf1).toBeCloseTo(c.mf1, 14);
      expect(m.n).toBe(c.labels.length);
      expect(m.nFake).toBe(c.labels.filter((l) => l === 1).length);
      expect(m.nReal + m.nFake).toBe(m.n);
    });
  }
});

describe('hand-computed cases', () => {
  it('ties across classes enter the curve as one diagonal step', () => {
    // Scores 0.9 (fake) | 0.6 (two fakes, one real) | 0.2 (real).
    const labels = [1, 1, 0, 1, 0];
    const scores = [0.9, 0.6, 0.6, 0.6, 0.2];
    const roc = rocCurve(labels, scores);
    expect(Array.from(roc.thresholds)).toEqual([Infinity, 0.9, 0.6, 0.2]);
    expect(Array.from(roc.fpr)).toEqual([0, 0, 0.5, 1]);
    expect(Array.from(roc.tpr)).toEqual([0, 1 / 3, 1, 1]);
    // Trapezoids: (1/3 + 1)/2 · 0.5 + 1 · 0.5 = 5/6.
    expect(rocAuc(labels, scores)).toBeCloseTo(5 / 6, 15);
    // AP: R 1/3 at P 1, then R 1 at P 3/4: 1/3 + (2/3)(3/4) = 5/6.
    expect(averagePrecision(labels, scores)).toBeCloseTo(5 / 6, 15);
    // Predictions at 0.5: fake, fake, fake, fake, real: 4/5 right; recall real 1/2, fake 1.
    expect(accuracy(labels, scores)).toBe(0.8);
    expect(macroRecall(labels, scores)).toBe(0.75);
    expect(accuracy(labels, scores, 0.7)).toBe(0.6);
  });

  it('equal error rate: on a point of the curve, and interpolated inside a segment', () => {
    // ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1): FPR = FNR = 0.5 at the third point.
    expect(equalErrorRate(rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(0.5, 15);
    // ROC (0,0) (0,.5) (1/3,1) (1,1): on the diagonal step, FPR = 1 − TPR at t = 0.6: EER = 0.2.
    expect(equalErrorRate(rocCurve([1, 1, 0, 0, 0], [0.9, 0.5, 0.5, 0.1, 0.1]))).toBeCloseTo(0.2, 15);
    // Perfect and inverted rankings.
    expect(equalErrorRate(rocCurve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]))).toBe(0);
    expect(equalErrorRate(rocCurve([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]))).toBe(1);
    // No information: every score tied.
    expect(equalErrorRate(rocCurve([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]))).toBeCloseTo(0.5, 15);
  });

  it('one class only: AUC and EER are undefined (NaN), AP undefined without fakes', () => {
    const m = binaryMetrics([1, 1, 1], [0.2, 0.7, 0.9]);
    expect(m.auc).toBeNaN();
    expect(m.eer).toBeNaN();
    expect(m.ap).toBe(1);
    expect(m.accuracy).toBeCloseTo(2 / 3, 15);
    // sklearn: labels {0 (only predicted), 1}: recall (0 + 2/3) / 2.
    expect(m.macroRecall).toBeCloseTo(1 / 3, 15);
    expect(binaryMetrics([0, 0], [0.2, 0.7]).ap).toBeNaN();
    const empty = binaryMetrics([], []);
    expect(empty).toMatchObject({ n: 0, nReal: 0, nFake: 0 });
    expect(empty.auc).toBeNaN();
    expect(empty.accuracy).toBeNaN();
  });

  it('trapezoid rule accepts decreasing x, refuses non-monotonic x', () => {
    expect(trapezoidArea([0, 0.5, 1], [0, 1, 1])).toBeCloseTo(0.75, 15);
    expect(trapezoidArea([1, 0.5, 0], [1, 1, 0])).toBeCloseTo(0.75, 15);
    expect(() => trapezoidArea([0, 1, 0.5], [0, 1, 1])).toThrow(/monotonic/);
  });

  it('refuses bad labels and scores with what was expected and received', () => {
    expect(() => rocCurve([0, 2], [0.1, 0.2])).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/0 \(real\) or 1 \(fake\).*received 2/) }));
    expect(() => rocCurve([0, 1], [0.1])).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/2 scores.*1 scores/) }));
    expect(() => averagePrecision([0, 1], [0.1, NaN])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(rocAuc([false, true], [0.1, 0.9])).toBe(1);
  });
});

describe('AUC is the Mann–Whitney U statistic', () => {
  // A small deterministic generator (mulberry32): no dependency, same data every run.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const [n, decimals] of [[40, 1], [1000, 2], [2000, 6]] as const) {
    it(`${n} random scores rounded to ${decimals} decimals (ties)`, () => {
      const r = rng(n * 7 + decimals);
      const labels = Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
      const scores = labels.map((l) => Number(Math.min(1, Math.max(0, r() * 0.8 + 0.15 * l)).toFixed(decimals)));
      const auc = rocAuc(labels, scores);
      expect(auc).toBeGreaterThan(0.5);
      expect(Math.abs(auc - mannWhitneyAuc(labels, scores))).toBeLessThan(1e-12);
    });
  }
});
