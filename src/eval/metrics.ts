/**
 * Binary detection metrics in float64, as the official evaluation computes
 * them with scikit-learn (`lib/metrics.py`: roc_curve + auc, average_precision_score,
 * macro recall at p ≥ 0.5, mF1, accuracy), plus the equal error rate.
 * Labels are 0 (real) and 1 (fake, the positive class); scores are P(fake).
 */
import { invalidArgument } from '../binding/errors';

export type Labels = ArrayLike<number | boolean>;

export interface RocCurve {
  /** False positive rates, non-decreasing from 0 to 1. */
  fpr: Float64Array;
  /** True positive rates, non-decreasing from 0 to 1. */
  tpr: Float64Array;
  /** thresholds[i]: fpr[i]/tpr[i] count scores ≥ it. thresholds[0] is +Infinity (scikit-learn ≥ 1.3). */
  thresholds: Float64Array;
}

export interface BinaryMetrics {
  /** Area under the ROC curve (trapezoid). NaN when one class is missing. */
  auc: number;
  /** Average precision, Σ (R_n − R_{n−1}) P_n. NaN without positives. */
  ap: number;
  /** Fraction right at p ≥ threshold. */
  accuracy: number;
  /** Equal error rate: where FPR = FNR on the piecewise-linear ROC. NaN when one class is missing. */
  eer: number;
  /** Macro recall at p ≥ threshold (the official "AR"). */
  macroRecall: number;
  /** 2·AP·AR/(AP+AR), the official "mF1". */
  mf1: number;
  /** The highest TPR at an operating point whose FPR is at most 1 % (no interpolation). NaN when one class is missing. */
  tprAt1Fpr: number;
  /** The same at FPR ≤ 5 %. */
  tprAt5Fpr: number;
  /** The score threshold at the EER: the first ROC point where FPR ≥ FNR. NaN when one class is missing. */
  eerThreshold: number;
  /** Expected calibration error of P(fake) over 10 equal-width bins: Σ (n_b / n) · |fake rate_b − mean P_b|. */
  ece: number;
  n: number;
  nReal: number;
  nFake: number;
}

function check(labels: Labels, scores: ArrayLike<number>): Uint8Array {
  if (!labels || typeof labels.length !== 'number') throw invalidArgument('labels', 'an array of 0/1 labels', labels);
  if (!scores || typeof scores.length !== 'number') throw invalidArgument('scores', 'an array of numbers', scores);
  if (labels.length !== scores.length)
    throw invalidArgument('scores', `${labels.length} scores (one per label)`, `${scores.length} scores`);
  const y = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 1 || l === true) y[i] = 1;
    else if (l !== 0 && l !== false) throw invalidArgument(`labels[${i}]`, '0 (real) or 1 (fake)', l);
    if (typeof scores[i] !== 'number' || Number.isNaN(scores[i])) throw invalidArgument(`scores[${i}]`, 'a number', scores[i]);
  }
  return y;
}

/**
 * Cumulative true/false positives at each distinct score, highest first
 * (sklearn's _binary_clf_curve): tied scores enter together, as one step.
 */
function clfCurve(y: Uint8Array, scores: ArrayLike<number>) {
  const order = Array.from(y.keys()).sort((a, b) => scores[b] - scores[a]);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let k = 0; k < order.length; k++) {
    tp += y[order[k]];
    if (k + 1 < order.length && scores[order[k + 1]] === scores[order[k]]) continue;
    tps.push(tp);
    fps.push(k + 1 - tp);
    thresholds.push(scores[order[k]]);
  }
  return { tps, fps, thresholds };
}

/** scikit-learn's roc_curve(labels, scores, pos_label=1, drop_intermediate=False). Rates are NaN when a class is missing. */
export function rocCurve(labels: Labels, scores: ArrayLike<number>): RocCurve {
  const y = check(labels, scores);
  const { tps, fps, thresholds } = clfCurve(y, scores);
  const m = tps.length + 1;
  const P = tps.length ? tps[tps.length - 1] : 0;
  const N = fps.length ? fps[fps.length - 1] : 0;
  const out: RocCurve = { fpr: new Float64Array(m), tpr: new Float64Array(m), thresholds: new Float64Array(m) };
  out.thresholds[0] = Infinity;
  for (let i = 1; i < m; i++) {
    out.fpr[i] = fps[i - 1] / N; // 0/0 = NaN when there are no negatives, as sklearn
    out.tpr[i] = tps[i - 1] / P;
    out.thresholds[i] = thresholds[i - 1];
  }
  if (N === 0) out.fpr[0] = NaN;
  if (P === 0) out.tpr[0] = NaN;
  return out;
}

/** Area under y(x) by the trapezoid rule (sklearn.metrics.auc): x must be monotonic. */
export function trapezoidArea(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw invalidArgument('y', `${x.length} values (one per x)`, `${y.length} values`);
  if (x.length < 2) return NaN;
  let up = false;
  let down = false;
  for (let i = 1; i < x.length; i++) {
    if (x[i] > x[i - 1]) up = true;
    if (x[i] < x[i - 1]) down = true;
  }
  if (up && down) throw invalidArgument('x', 'monotonic values', 'values that go up and down');
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return down ? -area : area;
}

/** ROC AUC (trapezoid on the full curve): tied scores count one half, as in the Mann–Whitney U statistic. */
export function rocAuc(labels: Labels, scores: ArrayLike<number>): number {
  const roc = rocCurve(labels, scores);
  return trapezoidArea(roc.fpr, roc.tpr);
}

/**
 * Average precision, scikit-learn's step-wise definition Σ (R_n − R_{n−1}) P_n
 * over the distinct thresholds from the highest down, R_0 = 0. NaN without
 * positives (deviation: scikit-learn warns and returns 0 there).
 */
export function averagePrecision(labels: Labels, scores: ArrayLike<number>): number {
  const y = check(labels, scores);
  const { tps, fps } = clfCurve(y, scores);
  const P = tps.length ? tps[tps.length - 1] : 0;
  if (P === 0) return NaN;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < tps.length; i++) {
    const recall = tps[i] / P;
    ap += (recall - prevRecall) * (tps[i] / (tps[i] + fps[i]));
    prevRecall = recall;
  }
  return ap;
}

/** Fraction of files (or frames) labelled right, fake when p ≥ threshold (`lib/metrics.py`, TEST.threshold). */
export function accuracy(labels: Labels, scores: ArrayLike<number>, threshold = 0.5): number {
  const y = check(labels, scores);
  if (y.length === 0) return NaN;
  let right = 0;
  for (let i = 0; i < y.length; i++) right += Number((scores[i] >= threshold ? 1 : 0) === y[i]);
  return right / y.length;
}

/**
 * scikit-learn's recall_score(average='macro') with predictions p ≥ threshold:
 * the mean recall over the labels present in the truth or the predictions;
 * a label only predicted has recall 0 (sklearn's zero_division).
 */
export function macroRecall(labels: Labels, scores: ArrayLike<number>, threshold = 0.5): number {
  const y = check(labels, scores);
  if (y.length === 0) return NaN;
  const hit = [0, 0];
  const support = [0, 0];
  const predicted = [false, false];
  for (let i = 0; i < y.length; i++) {
    const p = scores[i] >= threshold ? 1 : 0;
    predicted[p] = true;
    support[y[i]]++;
    if (p === y[i]) hit[y[i]]++;
  }
  let sum = 0;
  let count = 0;
  for (const c of [0, 1]) {
    if (!support[c] && !predicted[c]) continue;
    sum += support[c] ? hit[c] / support[c] : 0;
    count++;
  }
  return sum / count;
}

/**
 * Equal error rate from a ROC curve: the ROC is taken as piecewise linear and
 * the point where FPR = FNR (= 1 − TPR) is interpolated on the segment where
 * FPR + TPR − 1 changes sign. NaN when the curve is undefined.
 */
export function equalErrorRate(roc: RocCurve): number {
  const { fpr, tpr } = roc;
  if (fpr.length < 2 || fpr.some(Number.isNaN) || tpr.some(Number.isNaN)) return NaN;
  let prev = fpr[0] + tpr[0] - 1; // −1 at (0, 0); ends at +1 at (1, 1)
  for (let i = 1; i < fpr.length; i++) {
    const d = fpr[i] + tpr[i] - 1;
    if (d >= 0) {
      if (d === prev) return fpr[i];
      const t = -prev / (d - prev);
      return fpr[i - 1] + t * (fpr[i] - fpr[i - 1]);
    }
    prev = d;
  }
  return NaN;
}

/** The highest TPR among the ROC's operating points with FPR ≤ maxFpr (NaN when the curve is undefined). */
export function tprAtFpr(roc: RocCurve, maxFpr: number): number {
  const { fpr, tpr } = roc;
  if (fpr.length < 2 || fpr.some(Number.isNaN) || tpr.some(Number.isNaN)) return NaN;
  let best = 0;
  for (let i = 0; i < fpr.length; i++) if (fpr[i] <= maxFpr + 1e-12 && tpr[i] > best) best = tpr[i];
  return best;
}

/** The score threshold of the first ROC point where FPR ≥ FNR (= 1 − TPR): scores at or above it are called fake at the EER. */
export function eerThreshold(roc: RocCurve): number {
  const { fpr, tpr, thresholds } = roc;
  if (fpr.length < 2 || fpr.some(Number.isNaN) || tpr.some(Number.isNaN)) return NaN;
  for (let i = 1; i < fpr.length; i++) if (fpr[i] + tpr[i] - 1 >= 0) return thresholds[i];
  return NaN;
}

/**
 * Expected calibration error (Naeini et al. 2015; Guo et al. 2017) of P(fake) with `bins` equal-width bins
 * on [0, 1] (a score of 1 falls in the last): Σ_b (n_b / n) · |mean label_b − mean score_b|. NaN when empty.
 */
export function expectedCalibrationError(labels: Labels, scores: ArrayLike<number>, bins = 10): number {
  const y = check(labels, scores);
  if (y.length === 0) return NaN;
  const count = new Float64Array(bins), sumY = new Float64Array(bins), sumP = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(scores[i] * bins)));
    count[b]++;
    sumY[b] += y[i];
    sumP[b] += scores[i];
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += (count[b] / y.length) * Math.abs(sumY[b] / count[b] - sumP[b] / count[b]);
  return ece;
}

/** Every metric of one level (videos or frames) at a threshold (default 0.5). */
export function binaryMetrics(labels: Labels, scores: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  const y = check(labels, scores);
  let nFake = 0;
  for (const v of y) nFake += v;
  const roc = rocCurve(y, scores);
  const ap = averagePrecision(y, scores);
  const ar = macroRecall(y, scores, threshold);
  return {
    auc: trapezoidArea(roc.fpr, roc.tpr),
    ap,
    accuracy: accuracy(y, scores, threshold),
    eer: equalErrorRate(roc),
    macroRecall: ar,
    mf1: (2 * ap * ar) / (ap + ar),
    tprAt1Fpr: tprAtFpr(roc, 0.01),
    tprAt5Fpr: tprAtFpr(roc, 0.05),
    eerThreshold: eerThreshold(roc),
    ece: expectedCalibrationError(y, scores),
    n: y.length,
    nReal: y.length - nFake,
    nFake,
  };
}
