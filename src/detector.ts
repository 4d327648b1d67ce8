import { AbortError, DisposedError, fromNative, invalidArgument, LaaError } from './errors';
import { LaaNet, type DType, type Device, type ModelInfo } from './laanet';
import { binding, type NativeDetector, type NativeMediaScore } from './native';

export interface DetectorOptions {
  /** A weights file (.safetensors or official .pth), or an already loaded LaaNet (shared, not disposed with the detector). */
  weights: string | LaaNet;
  dtype?: DType;
  device?: Device;
  threads?: number;
}

export type ProgressStage = 'decode' | 'detect' | 'infer';

export interface ScoreOptions {
  /** Frames sampled evenly over a video (default 32, the official test setting). */
  frames?: number;
  /** Return the 96×96 artifact heatmap (sigmoid of the flip-averaged `hm`) and the 384×384 face crop per frame. */
  heatmaps?: boolean;
  /** P(fake) at or above which the label is 'fake' (default 0.5). */
  threshold?: number;
  /** Faces per network call (default 8). */
  batchSize?: number;
  /** Longest side of the frame copy the face detector sees (default 640). */
  detectMaxSide?: number;
  signal?: AbortSignal;
  onProgress?: (p: { stage: ProgressStage; done: number; total: number }) => void;
}

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FrameWithFace {
  index: number;
  timeSec: number;
  box: FaceBox;
  /** Faces the detector saw in the frame (the largest is scored). */
  facesFound: number;
  /** Flip-averaged classification logit. */
  logit: number;
  /** sigmoid(logit) = P(fake) for this frame. */
  score: number;
  heatmap?: { data: Float32Array; shape: [96, 96] };
  /** RGB face crop fed to the network, 384×384×3. */
  crop?: { data: Uint8Array; shape: [384, 384, 3] };
  noFace?: undefined;
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
  label: 'real' | 'fake';
  threshold: number;
  logit: number;
  frames: FrameResult[];
  framesSampled: number;
  facesFound: number;
  media: { isVideo: boolean; frameCount: number; fps: number; durationSec: number; width: number; height: number };
  timings: { decodeMs: number; detectMs: number; cropMs: number; inferMs: number; totalMs: number };
  model: { source: string; dtype: string; untrained: boolean };
}

const STAGES: readonly ProgressStage[] = ['decode', 'detect', 'infer'];

/**
 * Scores videos and images: frames are sampled, the largest face of each is
 * cropped as the official pipeline does, and LAA-Net scores it with the flip test.
 */
export class Detector {
  #native: NativeDetector | undefined;
  #net: LaaNet;
  #ownsNet: boolean;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(native: NativeDetector, net: LaaNet, ownsNet: boolean) {
    this.#native = native;
    this.#net = net;
    this.#ownsNet = ownsNet;
  }

  static async create(options: DetectorOptions): Promise<Detector> {
    if (!options || (typeof options.weights !== 'string' && !(options.weights instanceof LaaNet)))
      throw invalidArgument('options.weights', 'a weights file path or a LaaNet', options?.weights);
    const owns = typeof options.weights === 'string';
    const net =
      typeof options.weights === 'string'
        ? await LaaNet.load(options.weights, { dtype: options.dtype, device: options.device, threads: options.threads })
        : options.weights;
    const site = new Error();
    try {
      return new Detector(new (binding().NativeDetector)(net._nativeHandle()), net, owns);
    } catch (err) {
      if (owns) net.dispose();
      throw fromNative(err, site);
    }
  }

  /** The model in use (its `info.source` names the weights). */
  get model(): ModelInfo {
    return this.#net.info;
  }

  scoreVideo(path: string, options: ScoreOptions = {}): Promise<ScoreResult> {
    return this.#score(path, options);
  }

  scoreImage(path: string, options: Omit<ScoreOptions, 'frames'> = {}): Promise<ScoreResult> {
    return this.#score(path, { ...options, frames: 1 });
  }

  dispose(): void {
    const native = this.#native;
    this.#native = undefined;
    if (!native) return;
    void this.#queue.finally(() => {
      native.dispose();
      if (this.#ownsNet) this.#net.dispose();
    });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  async #score(path: string, options: ScoreOptions): Promise<ScoreResult> {
    const native = this.#native;
    if (!native) throw new DisposedError('this Detector');
    if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'a file path', path);
    const frames = options.frames ?? 32;
    if (!Number.isInteger(frames) || frames < 1 || frames > 10_000) throw invalidArgument('options.frames', 'an integer from 1 to 10000', frames);
    const threshold = options.threshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) throw invalidArgument('options.threshold', 'a number from 0 to 1', threshold);
    const batch = options.batchSize ?? 8;
    if (!Number.isInteger(batch) || batch < 1 || batch > 256) throw invalidArgument('options.batchSize', 'an integer from 1 to 256', batch);
    const detectMaxSide = options.detectMaxSide ?? 640;
    if (!Number.isInteger(detectMaxSide) || detectMaxSide < 64) throw invalidArgument('options.detectMaxSide', 'an integer of at least 64', detectMaxSide);
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new AbortError(signal.reason);

    const site = new Error();
    const run = this.#queue.then(async () => {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const flag = new (binding().AbortFlag)();
      const onAbort = () => flag.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const started = performance.now();
      try {
        const progress = onProgress
          ? (stage: number, done: number, total: number) => onProgress({ stage: STAGES[stage], done, total })
          : undefined;
        const raw = await native.scoreMedia(path, { frames, heatmaps: !!options.heatmaps, batch, detectMaxSide }, progress, flag);
        // Progress arrives through its own async handle: let the last events
        // (already queued when the job ended) run before the result is returned.
        if (progress) await new Promise((resolve) => setImmediate(resolve));
        return this.#result(path, raw, threshold, performance.now() - started);
      } catch (err) {
        if ((err as LaaError).code === 'ABORT_ERR') throw new AbortError(signal?.reason);
        throw fromNative(err, site);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #result(file: string, raw: NativeMediaScore, threshold: number, totalMs: number): ScoreResult {
    const info = this.#net.info;
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    return {
      file,
      score: raw.score,
      label: raw.score >= threshold ? 'fake' : 'real',
      threshold,
      logit: raw.logit,
      frames: raw.frames.map((f): FrameResult =>
        f.box
          ? {
              index: f.index,
              timeSec: f.timeSec,
              box: { x: f.box.left, y: f.box.top, width: f.box.right - f.box.left, height: f.box.bottom - f.box.top },
              facesFound: f.facesFound,
              logit: f.logit,
              score: sigmoid(f.logit),
              ...(f.heatmap ? { heatmap: { data: f.heatmap, shape: [96, 96] as [96, 96] } } : {}),
              ...(f.crop ? { crop: { data: f.crop, shape: [384, 384, 3] as [384, 384, 3] } } : {}),
            }
          : { index: f.index, timeSec: f.timeSec, noFace: true },
      ),
      framesSampled: raw.frames.length,
      facesFound: raw.faces,
      media: raw.info,
      timings: { ...raw.timings, totalMs },
      model: { source: info.source, dtype: info.dtype, untrained: info.source.startsWith('fill-rule:') },
    };
  }
}
