/**
 * The verdict: where a file's P(fake) falls among the scores the model gives real videos it never trained
 * on. A model carries its calibration in its weights' metadata (`verdict_calibration`, written by
 * `laa-native calibrate`): two thresholds and the real reference scores they came from.
 */
import { LaaError } from '../binding/errors';

export type Verdict = 'likely-real' | 'uncertain' | 'likely-fake' | 'no-face';

export interface Calibration {
  /** Above this P(fake), at most 1 % of the real reference videos score: `likely-fake`. */
  likelyFake: number;
  /** Above this, at most 5 % of them score: `uncertain` up to likelyFake. */
  uncertain: number;
  /** The real reference scores, ascending (each reference video once per degradation variant). */
  referenceScores: number[];
  /** What the reference set was, in words (sources, count, variants). */
  reference: string;
  /** Frames per video the references were scored at. */
  frames: number;
}

/** The weights-metadata key that holds the calibration (JSON). */
export const CALIBRATION_KEY = 'verdict_calibration';

/** The score that at most `share` of `scores` exceed: sorted[n − 1 − ⌊share·n⌋]. */
export function exceededBy(scores: readonly number[], share: number): number {
  if (scores.length === 0) throw new LaaError('EINVAL', 'Expected at least one reference score');
  const sorted = [...scores].sort((a, b) => a - b);
  return sorted[Math.max(0, sorted.length - 1 - Math.floor(share * sorted.length))];
}

/** Thresholds from real reference scores: the 1 % and 5 % points (issue #24's definition). */
export function calibrationFrom(scores: readonly number[], reference: string, frames: number): Calibration {
  if (!scores.length || scores.some((s) => !(s >= 0 && s <= 1))) throw new LaaError('EINVAL', 'Expected reference scores in [0, 1]');
  return {
    likelyFake: exceededBy(scores, 0.01),
    uncertain: exceededBy(scores, 0.05),
    referenceScores: [...scores].sort((a, b) => a - b),
    reference,
    frames,
  };
}

/** The calibration a model's metadata carries, or undefined; ECORRUPT when present but malformed. */
export function readCalibration(metadata: Record<string, string>): Calibration | undefined {
  const raw = metadata[CALIBRATION_KEY];
  if (raw === undefined) return undefined;
  let c: Calibration;
  try {
    c = JSON.parse(raw) as Calibration;
  } catch {
    throw new LaaError('ECORRUPT', `Expected JSON in the weights' ${CALIBRATION_KEY} metadata`);
  }
  const ok =
    c && typeof c === 'object' && typeof c.likelyFake === 'number' && typeof c.uncertain === 'number' &&
    c.uncertain >= 0 && c.uncertain <= c.likelyFake && c.likelyFake <= 1 && Array.isArray(c.referenceScores) &&
    c.referenceScores.length > 0 && c.referenceScores.every((s) => typeof s === 'number' && s >= 0 && s <= 1) &&
    typeof c.reference === 'string' && typeof c.frames === 'number';
  if (!ok) throw new LaaError('ECORRUPT', `Expected { likelyFake, uncertain, referenceScores, reference, frames } in the weights' ${CALIBRATION_KEY} metadata`);
  return c;
}

/** The share (0–100) of the reference scores below `score`, ties counted half. */
export function percentileOf(score: number, referenceScores: readonly number[]): number {
  let below = 0;
  for (const s of referenceScores) below += s < score ? 1 : s === score ? 0.5 : 0;
  return (100 * below) / referenceScores.length;
}

/**
 * The verdict for a score: with a calibration, its bands; without one (or when `threshold` overrides it),
 * `likely-fake` at or above the threshold and `likely-real` below.
 */
export function verdictOf(score: number, calibration: Calibration | undefined, threshold?: number): Verdict {
  if (threshold !== undefined || !calibration) return score >= (threshold ?? 0.5) ? 'likely-fake' : 'likely-real';
  if (score > calibration.likelyFake) return 'likely-fake';
  if (score > calibration.uncertain) return 'uncertain';
  return 'likely-real';
}

/** The verdict in words a reader outside the field understands. */
export function explainVerdict(verdict: Verdict, percentile: number | undefined, calibration: Calibration | undefined): string {
  if (verdict === 'no-face') return 'No face was found, so nothing was scored.';
  const where =
    percentile === undefined || !calibration
      ? ''
      : ` It scores higher than ${percentile.toFixed(percentile >= 99 || percentile < 1 ? 1 : 0)} % of ${calibration.referenceScores.length} scores of real videos this model never trained on.`;
  const what = {
    'likely-real': calibration
      ? 'Likely real: this score is common for real videos.'
      : 'Likely real: the score is below the threshold (this model carries no calibration on real videos).',
    uncertain: 'Uncertain: this score is unusual for a real video (fewer than 1 in 20 real videos score this high), but not rare enough to call it fake.',
    'likely-fake': calibration
      ? 'Likely fake: fewer than 1 in 100 real videos score this high.'
      : 'Likely fake: the score is at or above the threshold (this model carries no calibration on real videos).',
  }[verdict];
  return what + where + ' A detector can be wrong: treat this as one piece of evidence.';
}
