/**
 * Defaults and checks shared by scoring, evaluation, preparation and the CLI: each written once here.
 * The official values come from the released LAA-Net configs (configs/efn4_fpn_sbi_adv.yaml) and
 * scripts/test.py of the official repository.
 */
import { invalidArgument } from '../binding/errors';

/** Frames sampled evenly per video (the official test-time count). */
export const DEFAULT_FRAMES = 32;
export const MAX_FRAMES = 10_000;
/** IMAGE_SIZE: the face-crop side of the released models (a weights file may record another). */
export const DEFAULT_INPUT_SIZE = 384;
/** P(fake) at or above which a file is labelled fake. */
export const DEFAULT_THRESHOLD = 0.5;
/** Longest side frames are shrunk to for face detection (crops come from the full frame). */
export const DEFAULT_DETECT_MAX_SIDE = 640;

/** `v` (default DEFAULT_FRAMES) as a frame count, or EINVAL naming `name`. */
export function checkFrames(name: string, v: unknown): number {
  const frames = v ?? DEFAULT_FRAMES;
  if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES)
    throw invalidArgument(name, `an integer from 1 to ${MAX_FRAMES}`, frames);
  return frames;
}

/** `v` (default DEFAULT_THRESHOLD) as a probability threshold, or EINVAL naming `name`. */
export function checkThreshold(name: string, v: unknown): number {
  const threshold = v ?? DEFAULT_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw invalidArgument(name, 'a number from 0 to 1', threshold);
  return threshold;
}

/** `v` (default DEFAULT_DETECT_MAX_SIDE) as a detection size, or EINVAL naming `name`. */
export function checkDetectMaxSide(name: string, v: unknown): number {
  const side = v ?? DEFAULT_DETECT_MAX_SIDE;
  if (typeof side !== 'number' || !Number.isInteger(side) || side < 64) throw invalidArgument(name, 'an integer of at least 64', side);
  return side;
}
