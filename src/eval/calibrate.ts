/**
 * `laa-native calibrate`: sets a model's two verdict thresholds from its scores on real videos it never trained
 * on, each scored clean and under the degradations footage meets (CALIBRATION_VARIANTS), and writes them into
 * the weights' metadata (model/verdict.ts) with the reference scores and a description of the set.
 */
import * as path from 'node:path';
import { checkFunction, checkPath, checkSignal, invalidArgument, LaaError } from '../binding/errors';
import { Detector } from '../detect/detector';
import { checkFrames } from '../model/defaults';
import { LaaNet, type DType } from '../model/laanet';
import type { Degradation } from '../model/types';
import { calibrationFrom, CALIBRATION_KEY, type Calibration } from '../model/verdict';
import { listMediaFiles } from './evaluate';

/** Each reference video is scored once per variant: clean, and as compressed, rescaled or noisy footage. */
export const CALIBRATION_VARIANTS: ReadonlyArray<{ name: string; perturb?: Degradation }> = [
  { name: 'clean' },
  { name: 'h264 crf 35', perturb: { h264Crf: 35 } },
  { name: 'downscale x2 + jpeg 60', perturb: { downscale: 2, jpegQuality: 60 } },
  { name: 'blur 1.5 + noise 0.01', perturb: { blurSigma: 1.5, noiseSigma: 0.01 } },
];

export interface CalibrateOptions {
  /** The weights to calibrate (a `.safetensors` or official `.pth` file). */
  weights: string;
  /** Real videos (files or folders) the model never trained on. */
  reals: string | string[];
  /** Where the calibrated weights go. Default: `weights` itself (rewritten atomically; a `.pth` becomes `.safetensors` next to it). */
  output?: string;
  /** Frames per video. Default 32. */
  frames?: number;
  /** Only the clean variant (no degraded copies). Default false. */
  cleanOnly?: boolean;
  /** Words describing the reference set, stored with the thresholds. Default: the folders and counts. */
  reference?: string;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: { file: string; variant: string; done: number; total: number; score?: number }) => void;
}

export interface CalibrateResult {
  calibration: Calibration;
  /** Every reference score. */
  scores: Array<{ file: string; variant: string; score: number }>;
  /** Files that gave no score (no face, unreadable), with the error code. */
  failed: Array<{ file: string; code: string; message: string }>;
  output: string;
}

export async function calibrate(options: CalibrateOptions): Promise<CalibrateResult> {
  if (!options || typeof options !== 'object') throw invalidArgument('options', '{ weights, reals, ... }', options);
  checkPath('options.weights', options.weights, 'a weights file');
  const frames = checkFrames('options.frames', options.frames);
  const files = listMediaFiles(options.reals, 'reals');
  if (files.length === 0) throw new LaaError('EINVAL', 'Expected at least one real video in options.reals');
  const signal = checkSignal('options.signal', options.signal);
  const onProgress = checkFunction<NonNullable<CalibrateOptions['onProgress']>>('options.onProgress', options.onProgress);
  const output =
    options.output ?? (options.weights.endsWith('.pth') ? options.weights.replace(/\.pth$/, '.calibrated.safetensors') : options.weights);
  checkPath('options.output', output, 'a weights file path');
  const variants = options.cleanOnly ? CALIBRATION_VARIANTS.slice(0, 1) : CALIBRATION_VARIANTS;

  const net = await LaaNet.load(options.weights, { dtype: 'float32', threads: options.threads });
  try {
    const detector = await Detector.create({ weights: net });
    const scores: CalibrateResult['scores'] = [];
    const failed: CalibrateResult['failed'] = [];
    let done = 0;
    const total = files.length * variants.length;
    for (const file of files) {
      for (const v of variants) {
        let score: number | undefined;
        try {
          const r = await detector.scoreVideo(file, { frames, signal, ...(v.perturb ? { perturb: v.perturb } : {}) });
          score = r.score;
          scores.push({ file, variant: v.name, score });
        } catch (err) {
          const e = err as LaaError;
          if (e.code === 'ABORT_ERR') throw err;
          if (!failed.some((f) => f.file === file)) failed.push({ file, code: e.code ?? 'EINTERNAL', message: e.message });
        }
        onProgress?.({ file, variant: v.name, done: ++done, total, ...(score !== undefined ? { score } : {}) });
      }
    }
    detector.dispose();
    if (scores.length === 0)
      throw new LaaError((failed[0]?.code as LaaError['code']) ?? 'ENOFACE', `none of the ${files.length} reference videos gave a score (${failed[0]?.message ?? 'no face'})`);
    const folders = [...new Set(files.map((f) => path.basename(path.dirname(f))))].join(', ');
    const videos = new Set(scores.map((s) => s.file)).size;
    const reference =
      options.reference ??
      `${videos} real videos (${folders}), ${variants.length === 1 ? 'clean' : `each ${variants.map((v) => v.name).join(' / ')}`}, ${frames} frames`;
    const calibration = calibrationFrom(scores.map((s) => s.score), reference, frames);
    const stored = net.info.metadata.dtype as DType | undefined;
    await net.save(output, {
      dtype: stored === 'float16' || stored === 'bfloat16' || stored === 'float64' ? stored : 'float32',
      metadata: { [CALIBRATION_KEY]: JSON.stringify(calibration) },
    });
    return { calibration, scores, failed, output };
  } finally {
    net.dispose();
  }
}
