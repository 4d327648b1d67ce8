/**
 * What scoring a video or image returns: made by the detector (src/detect),
 * shown by the report (src/report), counted by evaluation (src/eval).
 */
import type { Verdict } from './verdict';

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FaceResult {
  box: FaceBox;
  /** Flip-averaged classification logit. */
  logit: number;
  /** sigmoid(logit) = P(fake) for this face. */
  score: number;
  /** The person this face was grouped into (`allFaces`; 0 otherwise). */
  person: number;
  heatmap?: { data: Float32Array; shape: [number, number] };
  /** RGB face crop fed to the network, S×S×3 (S = the model's input size, 384 for the official model). */
  crop?: { data: Uint8Array; shape: [number, number, 3] };
  /** 68 (x, y) points in frame pixels, when asked for. */
  landmarks?: Array<[number, number]>;
}

/** A frame with at least one face. The frame-level box/logit/score are its largest face's. */
export interface FrameWithFace extends FaceResult {
  index: number;
  timeSec: number;
  /** Faces the detector saw in the frame. */
  facesFound: number;
  /** The scored faces, largest first (only the largest unless `allFaces`). */
  faces: FaceResult[];
  noFace?: undefined;
}

export interface PersonResult {
  id: number;
  /** Frames this person was scored in. */
  faces: number;
  logit: number;
  score: number;
}

export interface FrameWithoutFace {
  index: number;
  timeSec: number;
  noFace: true;
}

export type FrameResult = FrameWithFace | FrameWithoutFace;

export interface ScoreResult {
  file: string;
  /** P(fake) for the whole file: sigmoid of the mean flip-averaged logit over the frames with a face. */
  score: number;
  /**
   * Where the score falls among the model's real reference videos (model/verdict.ts): `likely-fake` above the
   * score at most 1 % of them exceed, `uncertain` above the 5 % point, else `likely-real`. A model without a
   * calibration, or an explicit `threshold`, gives `likely-fake` at or above the threshold, `likely-real` below.
   */
  verdict: Verdict;
  /** The share (0–100) of the model's real reference scores below this score; absent without a calibration. */
  percentile?: number;
  /** The verdict in plain words. */
  explanation: string;
  /** `fake` when the verdict is `likely-fake`. */
  label: 'real' | 'fake';
  /** The threshold the label used: `options.threshold`, else the calibration's likely-fake point, else 0.5. */
  threshold: number;
  /** The model's calibration (absent when it has none). */
  calibration?: { likelyFake: number; uncertain: number; references: number; reference: string };
  logit: number;
  frames: FrameResult[];
  /** With `allFaces`: the people found across frames, with their mean-logit scores. */
  people?: PersonResult[];
  framesSampled: number;
  facesFound: number;
  media: { isVideo: boolean; frameCount: number; fps: number; durationSec: number; width: number; height: number };
  timings: { decodeMs: number; detectMs: number; cropMs: number; inferMs: number; totalMs: number };
  /** The weights used: `name` is the model's own name (its `model_name` metadata) or the file name. */
  model: { name: string; source: string; dtype: string; untrained: boolean; inputSize: number };
}
