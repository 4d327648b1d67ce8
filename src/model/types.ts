/** Numeric types and devices a model runs in. */
export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16';
/** A dtype to ask for: a DType, or `auto` (the fastest dtype that is accurate on this machine). */
export type DTypeOption = DType | 'auto';
export type Device = 'cpu' | 'cuda' | 'auto';

/**
 * Degradations of an image or of every decoded frame, applied in this order: colour gain and gamma, Gaussian
 * blur, motion blur, Gaussian noise, downscale then upscale, H.264 (libx264, one intra frame) or JPEG
 * re-encoding. Absent fields do nothing (native/synthesis/degrade.h).
 */
export interface Degradation {
  /** Per-channel gain [r, g, b], 0.1–10. */
  gain?: [number, number, number];
  /** out = in^gamma on [0, 1], 0.1–10. */
  gamma?: number;
  /** Gaussian blur σ in pixels, 0–50. */
  blurSigma?: number;
  /** Linear motion blur length in pixels (0–101) and angle in degrees. */
  motionLength?: number;
  motionAngle?: number;
  /** Gaussian noise σ on [0, 1] intensities, 0–1. */
  noiseSigma?: number;
  /** Shrink by this factor (area), then scale back up (bilinear), 1–64. */
  downscale?: number;
  /** H.264 CRF, 1–51 (0: none). */
  h264Crf?: number;
  /** JPEG quality, 1–100 (0: none). */
  jpegQuality?: number;
}
