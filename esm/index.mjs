// ESM entry: re-exports the CommonJS build (one copy of the native addon per process).
import cjs from '../lib/index.js';

export const {
  AbortError,
  BACKBONES,
  DEFAULT_BACKBONE,
  DEFAULT_LANDMARK_MODEL,
  Detector,
  DisposedError,
  LaaError,
  LaaNet,
  REFERENCE_SEED,
  Trainer,
  convertBackbone,
  encodeTargets,
  evaluateSynthetic,
  imagenetBackbone,
  losses,
  prepare,
  readPreparedIndex,
  readWeights,
  scheduledLr,
  synthesizeBi,
  synthesizeSbi,
  versions,
} = cjs;
export default cjs;
// Evaluation, metrics and reports.
export const { evaluate, metrics, renderReport, writeReport, writeRocPng } = cjs;
// Verdicts, calibration, robustness and degradations.
export const {
  CALIBRATION_KEY,
  CALIBRATION_VARIANTS,
  DEFAULT_FRAMES,
  DEFAULT_INPUT_SIZE,
  DEFAULT_THRESHOLD,
  ERROR_CODES,
  ROBUSTNESS_LADDER,
  TRAINING_DEFAULTS,
  calibrate,
  calibrationFrom,
  degradeImage,
  drawDegradation,
  explainVerdict,
  formatRobustnessTable,
  percentileOf,
  readCalibration,
  robustness,
  verdictOf,
  writeRobustnessPng,
} = cjs;
// Data-parallel training.
export const { freePort, launch, resolveDistributed } = cjs;
