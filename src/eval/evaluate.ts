/**
 * Evaluation on labelled files: every real and fake video/image is scored,
 * and the official metrics are computed over files and over frames (as the
 * official `scripts/test.py` and `lib/metrics.py` do).
 */
import { defaultModelPath } from '../model/bundled';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Detector } from '../detect/detector';
import { AbortError, invalidArgument, LaaError, type LaaErrorCode } from '../binding/errors';
import { checkFrames, checkThreshold } from '../model/defaults';
import { LaaNet } from '../model/laanet';
import { binaryMetrics, type BinaryMetrics } from './metrics';

export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.avi', '.mov', '.webm', '.mkv', '.m4v'];
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.bmp', '.webp'];

export interface EvaluateOptions {
  /** Weights file or loaded LaaNet (not disposed). Default: the bundled model (models/README.md). */
  weights?: string | LaaNet;
  /** A detector to use instead of `weights` (not disposed). */
  detector?: Detector;
  /** Real files (label 0): files and/or directories of media files (not recursive). */
  real: string | string[];
  /** Fake files (label 1). */
  fake: string | string[];
  /** Frames sampled per video (default 32, the official setting). */
  frames?: number;
  /** LibTorch threads when this call loads the weights. */
  threads?: number;
  /** P(fake) from which a file or frame counts as fake for accuracy and macro recall (default 0.5). */
  threshold?: number;
  signal?: AbortSignal;
  /** Called after each file: `done` files of `total` are finished. */
  onProgress?: (p: { done: number; total: number; file: string; ok: boolean }) => void;
}

export interface EvalItem {
  path: string;
  /** 0 real, 1 fake. */
  label: 0 | 1;
  /** The file's P(fake): sigmoid of the mean flip-averaged logit over its frames (as `scripts/test.py` with video_level). */
  score: number;
  logit: number;
  /** P(fake) of each scored frame (frames without a face are not scored). */
  frames: number[];
  framesSampled: number;
  ms: number;
}

export interface EvalFailure {
  path: string;
  label: 0 | 1;
  code: LaaErrorCode;
  message: string;
}

export interface EvalReport {
  /** Metrics over files. */
  video: BinaryMetrics;
  /** Metrics over every scored frame, each labelled as its file. */
  frame: BinaryMetrics;
  items: EvalItem[];
  /** Files that could not be scored (no face, unreadable...): excluded from the metrics. */
  failed: EvalFailure[];
  model: { source: string; dtype: string; device: string; parameters: number; untrained: boolean; metadata: Record<string, string> };
  settings: { frames: number; threshold: number; real: string[]; fake: string[] };
  elapsedMs: number;
}

const MEDIA = new Set([...VIDEO_EXTENSIONS, ...IMAGE_EXTENSIONS]);

/**
 * The media files named by `inputs`: files as given, directories expanded to
 * their media files (sorted, not recursive). A path that does not exist is ENOENT.
 */
export function listMediaFiles(inputs: string | string[], name = 'inputs'): string[] {
  const list = typeof inputs === 'string' ? [inputs] : inputs;
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.length === 0))
    throw invalidArgument(name, 'a path or an array of paths', inputs);
  const out: string[] = [];
  for (const input of list) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input);
    } catch {
      throw new LaaError('ENOENT', `${name}: '${input}' does not exist`);
    }
    if (!st.isDirectory()) {
      out.push(input);
      continue;
    }
    for (const entry of fs.readdirSync(input, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
      if (entry.isFile() && MEDIA.has(path.extname(entry.name).toLowerCase())) out.push(path.join(input, entry.name));
  }
  return out;
}

// Failures that stop the evaluation rather than one file.
const FATAL = new Set<string>(['ABORT_ERR', 'EDISPOSED', 'EBINDING', 'EINVAL', 'EDEVICE']);

/** Scores every real and fake file and computes video- and frame-level metrics. */
export async function evaluate(options: EvaluateOptions): Promise<EvalReport> {
  if (!options || typeof options !== 'object') throw invalidArgument('options', '{ real, fake, ... }', options);
  const frames = checkFrames('options.frames', options.frames);
  const threshold = checkThreshold('options.threshold', options.threshold);
  if (options.detector !== undefined && !(options.detector instanceof Detector)) throw invalidArgument('options.detector', 'a Detector', options.detector);
  const real = listMediaFiles(options.real, 'real');
  const fake = listMediaFiles(options.fake, 'fake');
  const both = real.map((p) => path.resolve(p)).filter((p) => fake.some((q) => path.resolve(q) === p));
  if (both.length) throw new LaaError('EINVAL', `Expected each file in one class but '${both[0]}' is both real and fake`);
  if (real.length + fake.length === 0) throw new LaaError('EINVAL', `Expected media files in real and fake but found none (${[options.real, options.fake].flat().join(', ')})`);
  const { signal } = options;
  if (signal?.aborted) throw new AbortError(signal.reason);

  const started = performance.now();
  let net: LaaNet | undefined;
  let detector = options.detector;
  const owned: Array<{ dispose(): void }> = [];
  try {
    if (!detector) {
      if (options.weights instanceof LaaNet) net = options.weights;
      else if (typeof options.weights === 'string') owned.push((net = await LaaNet.load(options.weights, { threads: options.threads })));
      else if (options.weights === undefined) owned.push((net = await LaaNet.load(defaultModelPath(), { threads: options.threads })));
      else throw invalidArgument('options.weights', 'a weights file path or a LaaNet', options.weights);
      owned.unshift((detector = await Detector.create({ weights: net })));
    }

    const jobs = [...real.map((p) => ({ path: p, label: 0 as const })), ...fake.map((p) => ({ path: p, label: 1 as const }))];
    const items: EvalItem[] = [];
    const failed: EvalFailure[] = [];
    for (const job of jobs) {
      const t0 = performance.now();
      let ok = true;
      try {
        const image = IMAGE_EXTENSIONS.includes(path.extname(job.path).toLowerCase());
        const r = image ? await detector.scoreImage(job.path, { signal, threshold }) : await detector.scoreVideo(job.path, { frames, signal, threshold });
        items.push({
          path: job.path,
          label: job.label,
          score: r.score,
          logit: r.logit,
          frames: r.frames.flatMap((f) => (f.noFace ? [] : [f.score])),
          framesSampled: r.framesSampled,
          ms: performance.now() - t0,
        });
      } catch (err) {
        const e = err as LaaError;
        if (FATAL.has(e.code)) throw err;
        ok = false;
        failed.push({ path: job.path, label: job.label, code: e.code ?? 'EINTERNAL', message: e.message });
      }
      options.onProgress?.({ done: items.length + failed.length, total: jobs.length, file: job.path, ok });
    }

    const videoLabels = items.map((i) => i.label);
    const videoScores = items.map((i) => i.score);
    const frameLabels = items.flatMap((i) => i.frames.map(() => i.label));
    const frameScores = items.flatMap((i) => i.frames);
    const info = detector.model;
    return {
      video: binaryMetrics(videoLabels, videoScores, threshold),
      frame: binaryMetrics(frameLabels, frameScores, threshold),
      items,
      failed,
      model: {
        source: info.source,
        dtype: info.dtype,
        device: info.device,
        parameters: info.parameters,
        untrained: info.source.startsWith('fill-rule:'),
        metadata: info.metadata,
      },
      settings: { frames, threshold, real: [options.real].flat(), fake: [options.fake].flat() },
      elapsedMs: performance.now() - started,
    };
  } finally {
    for (const o of owned) o.dispose();
  }
}
