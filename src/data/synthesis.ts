/**
 * Training-sample synthesis (SBI, geometry, colour and BI as the official LAA-Net
 * code does them; see docs/IMPLEMENTATION.md, Data pipeline and synthesis), for
 * tests and research; the trainer calls the same C++ code directly.
 *
 * A sample is a pure function of (image, landmarks, seed, options): the same seed gives
 * byte-identical output. Faces are aligned face crops (normally 256×256, RGB) with dlib's 68
 * landmarks in the crop's pixel coordinates (only the first 68 of a longer list are used).
 * Calls run on a libuv worker thread.
 */
import { callNative, invalidArgument, LaaError } from '../binding/errors';
import { DEFAULT_INPUT_SIZE } from '../model/defaults';
import type { Degradation } from '../model/types';
import { binding } from '../binding/native';

/** RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A single-channel map, row-major. */
export interface Map2d<T extends Uint8Array | Float32Array> {
  data: T;
  shape: [number, number];
}

export interface SynthesisOptions {
  /** The face: an image file (decoded as RGB) or RGB pixels. */
  image: string | RgbImage;
  /** dlib's 68 points, `[x, y]` each, in the image's pixel coordinates. */
  landmarks: ReadonlyArray<readonly [number, number] | readonly number[]>;
  /** Any integer in [0, 2^64): all randomness comes from it. */
  seed: number | bigint;
  /**
   * With `index`: draw the trainer's sample `index` of epoch `epoch` for run seed `seed`
   * (the Rng is seeded with the trainer's per-sample seed, whatever thread makes it).
   */
  epoch?: number;
  index?: number;
  /** Network input side (default 384). */
  inputSize?: number;
  /** Heatmap / boundary side (default 96 = inputSize / 4). */
  targetSize?: number;
  /** Training augmentation (flips, geometry, colour); false keeps only the synthesis itself (default true). */
  train?: boolean;
  /** Also return the blend mask M (and for BI the background) carried through the same steps. */
  debug?: boolean;
}

export interface SbiResult {
  /** The real image, inputSize². */
  real: RgbImage;
  /** Its self-blended fake, inputSize². */
  fake: RgbImage;
  /** All zeros, targetSize². */
  boundaryReal: Map2d<Uint8Array>;
  /** B = trunc(255·4M(1−M)) warped to targetSize², ready for `encodeTargets`. */
  boundaryFake: Map2d<Uint8Array>;
  /** With `debug`: the unscaled blend mask M at inputSize² / targetSize². */
  mask?: Map2d<Float32Array>;
  maskTarget?: Map2d<Float32Array>;
}

export interface BiOptions extends SynthesisOptions {
  /** The face blended in (the official code takes one with nearby landmarks); its landmarks are optional. */
  partner: { image: string | RgbImage; landmarks?: SynthesisOptions['landmarks'] };
  /** Probability of a blended (fake) sample (default 0.5, as in the official `face_forensic_hm.py`). */
  fakeProbability?: number;
}

export interface BiResult {
  image: RgbImage;
  boundary: Map2d<Uint8Array>;
  /** 0 = real, 1 = blended. */
  label: 0 | 1;
  /** With `debug`: M at inputSize² / targetSize² (zeros for a real) and the background taken through the same steps. */
  mask?: Map2d<Float32Array>;
  maskTarget?: Map2d<Float32Array>;
  background?: RgbImage;
}

type NativeImage = [string | Uint8Array, number, number];

function imageArg(name: string, image: unknown): NativeImage {
  if (typeof image === 'string') return [image, 0, 0];
  if (!image || typeof image !== 'object') throw invalidArgument(name, 'a file path or { data, width, height }', image);
  const { data, width, height } = image as RgbImage;
  if (!(data instanceof Uint8Array)) throw invalidArgument(`${name}.data`, 'a Uint8Array', data);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0)
    throw invalidArgument(`${name}.width/height`, 'non-negative integers', `${width}x${height}`);
  if (data.length !== width * height * 3)
    throw new LaaError('EINVAL', `Expected ${name}.data to hold width*height*3 = ${width * height * 3} bytes but it holds ${data.length}`);
  return [data, width, height];
}

function landmarksArg(name: string, landmarks: unknown): Float64Array {
  if (!Array.isArray(landmarks)) throw invalidArgument(name, 'an array of 68 [x, y] points', landmarks);
  if (landmarks.length < 68) throw new LaaError('EINVAL', `Expected at least 68 points for ${name} but received ${landmarks.length}`);
  const out = new Float64Array(68 * 2);
  for (let i = 0; i < 68; i++) {
    const p = landmarks[i] as unknown;
    if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1]))
      throw invalidArgument(`${name}[${i}]`, 'an [x, y] pair of finite numbers', p);
    out[2 * i] = p[0];
    out[2 * i + 1] = p[1];
  }
  return out;
}

function seedArg(seed: unknown): bigint {
  if (typeof seed === 'bigint' && seed >= 0n && seed < 1n << 64n) return seed;
  if (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0) return BigInt(seed);
  throw invalidArgument('seed', 'a non-negative integer (number or bigint below 2^64)', seed);
}

function sizeArg(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < 2 || (v as number) > 2048) throw invalidArgument(name, 'an integer in [2, 2048]', v);
  return v as number;
}

function sampleArgs(epoch: unknown, index: unknown): { epoch?: number; index?: number } {
  if (epoch === undefined && index === undefined) return {};
  for (const [name, v] of [['epoch', epoch], ['index', index]] as const)
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalidArgument(name, 'a non-negative integer (epoch and index go together)', v);
  return { epoch: epoch as number, index: index as number };
}

function commonOptions(o: SynthesisOptions) {
  if (!o || typeof o !== 'object') throw invalidArgument('options', 'an object', o);
  const inputSize = sizeArg('inputSize', o.inputSize, DEFAULT_INPUT_SIZE);
  return {
    image: imageArg('image', o.image),
    landmarks: landmarksArg('landmarks', o.landmarks),
    seed: seedArg(o.seed),
    opts: {
      inputSize,
      targetSize: sizeArg('targetSize', o.targetSize, Math.max(2, Math.round(inputSize / 4))),
      train: o.train ?? true,
      debug: !!o.debug,
      ...sampleArgs(o.epoch, o.index),
    },
  };
}

/** One SBI pair (official `datasets/sbi/utils.py::gen_SBI`): a real face and its self-blended fake, with their boundary maps. */
export async function synthesizeSbi(options: SynthesisOptions): Promise<SbiResult> {
  const { image, landmarks, seed, opts } = commonOptions(options);
  return (await callNative(() => binding().synthesizeSbi(...image, landmarks, seed, opts))) as SbiResult;
}

/** One BI sample (official `datasets/face_forensic_hm.py`): with probability `fakeProbability` the partner blended into the face (label 1), else the face (label 0). */
export async function synthesizeBi(options: BiOptions): Promise<BiResult> {
  const { image, landmarks, seed, opts } = commonOptions(options);
  const partner = options.partner;
  if (!partner || typeof partner !== 'object') throw invalidArgument('partner', 'an object { image, landmarks? }', partner);
  const p = options.fakeProbability ?? 0.5;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalidArgument('fakeProbability', 'a number in [0, 1]', p);
  const partnerLandmarks = partner.landmarks === undefined ? new Float64Array(0) : landmarksArg('partner.landmarks', partner.landmarks);
  return (await callNative(() =>
    binding().synthesizeBi(...image, landmarks, ...imageArg('partner.image', partner.image), partnerLandmarks, seed, { ...opts, fakeProbability: p }),
  )) as BiResult;
}

/** An RGB image (`data`: width·height·3 bytes) degraded as `degradation` says (native/synthesis/degrade.h). */
export async function degradeImage(image: RgbImage, degradation: Degradation): Promise<RgbImage> {
  if (!image || !(image.data instanceof Uint8Array)) throw invalidArgument('image', '{ data: Uint8Array, width, height }', image);
  if (!degradation || typeof degradation !== 'object') throw invalidArgument('degradation', 'a degradation object', degradation);
  return callNative(() => binding().degradeImage(image.data, image.width, image.height, degradation));
}

/**
 * The degradation the trainer draws for one item (`options.degrade` = probability) from a seed, with its
 * description: what training data goes through, for inspection and tests.
 */
export function drawDegradation(seed: bigint, probability = 1): Degradation & { description: string } {
  if (typeof seed !== 'bigint') throw invalidArgument('seed', 'a bigint', seed);
  if (!(probability >= 0 && probability <= 1)) throw invalidArgument('probability', 'a number from 0 to 1', probability);
  const d = binding().drawDegradation(seed, probability) as unknown as Required<Degradation> & { description: string };
  // Only the fields that do something.
  const out: Degradation & { description: string } = { description: d.description };
  if (d.gain.some((g) => g !== 1)) out.gain = d.gain;
  if (d.gamma !== 1) out.gamma = d.gamma;
  if (d.blurSigma > 0) out.blurSigma = d.blurSigma;
  if (d.motionLength > 1) Object.assign(out, { motionLength: d.motionLength, motionAngle: d.motionAngle });
  if (d.noiseSigma > 0) out.noiseSigma = d.noiseSigma;
  if (d.downscale > 1) out.downscale = d.downscale;
  if (d.h264Crf > 0) out.h264Crf = d.h264Crf;
  if (d.jpegQuality > 0) out.jpegQuality = d.jpegQuality;
  return out;
}
