import { AbortError, checkFunction, checkOptions, checkPath, checkSignal, DisposedError, fromNative, invalidArgument, LaaError } from '../binding/errors';
import { defaultModelPath } from '../model/bundled';
import { checkDetectMaxSide, checkFrames, checkThreshold, DEFAULT_THRESHOLD } from '../model/defaults';
import type { Degradation } from '../model/types';
import { DEFAULT_FACE_DETECTOR, DEFAULT_LANDMARKS, FACE_MODELS, resolveFaceDetector, resolveLandmarks, type FaceDetectorName } from '../model/faces';
import { explainVerdict, percentileOf, readCalibration, verdictOf, type Calibration } from '../model/verdict';
import { LaaNet, type DTypeOption, type Device, type ModelInfo } from '../model/laanet';
import { binding, type NativeDetector, type NativeMediaScore } from '../binding/native';
import { writeReport, type ReportOptions } from '../report/html';
import type { FaceResult, FrameResult, ScoreResult } from '../model/results';
export type { FaceBox, FaceResult, FrameResult, FrameWithFace, FrameWithoutFace, PersonResult, ScoreResult } from '../model/results';

export interface DetectorOptions {
  /**
   * A weights file (.safetensors or official .pth), or an already loaded LaaNet (shared, not disposed
   * with the detector). Default: the bundled model (models/README.md).
   */
  weights?: string | LaaNet;
  /** Default `auto`: the fastest dtype that keeps P(fake) within 0.01 of float32 here (LoadOptions.dtype). */
  dtype?: DTypeOption;
  /** See LoadOptions.strict. */
  strict?: boolean;
  device?: Device;
  threads?: number;
  /**
   * The face detector: `blazeface` (default: MediaPipe's CNN, Apache-2.0; finds three-quarter and small faces) or
   * `hog` (dlib's frontal-face detector). Boxes of both are mapped to the RetinaFace framing the official crop expects.
   */
  faceDetector?: FaceDetectorName;
}

export type ProgressStage = 'decode' | 'detect' | 'infer';

export interface ScoreOptions {
  /** Frames sampled evenly over a video (default 32, the official test setting). */
  frames?: number;
  /** Return the artifact heatmap (sigmoid of the flip-averaged `hm`; 96×96 at the official 384 px input, input/4 in general) and the face crop fed to the network per frame. */
  heatmaps?: boolean;
  /** P(fake) at or above which the label is 'fake' (default 0.5). */
  threshold?: number;
  /** Faces per network call (default 8). */
  batchSize?: number;
  /** Longest side of the frame copy the face detector sees (default 640). */
  detectMaxSide?: number;
  /**
   * Score every face, not only the largest, and group faces across frames into people
   * (by box overlap). The file's score is then the most fake person's.
   */
  allFaces?: boolean;
  /** Return dlib's 68 landmarks per face: `true` for libdlib-data's model, or a model file path. */
  landmarks?: boolean | string;
  signal?: AbortSignal;
  onProgress?: (p: { stage: ProgressStage; done: number; total: number }) => void;
  /** Degrade every decoded frame before detection (robustness measurements, calibration). Default: none. */
  perturb?: Degradation;
}


/** The landmark model `landmarks: true` loads: FaceMesh (Apache-2.0), its 68 iBUG points (src/model/faces.ts). */
export const DEFAULT_LANDMARK_MODEL = FACE_MODELS.facemesh.file!;

/**
 * Scores videos and images: frames are sampled, the largest face of each is
 * cropped as the official pipeline does, and LAA-Net scores it with the flip test.
 */

export class Detector {
  #native: NativeDetector | undefined;
  #net: LaaNet;
  #ownsNet: boolean;
  #calibration: Calibration | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(native: NativeDetector, net: LaaNet, ownsNet: boolean, calibration: Calibration | undefined) {
    this.#native = native;
    this.#net = net;
    this.#ownsNet = ownsNet;
    this.#calibration = calibration;
  }

  static async create(opts?: DetectorOptions): Promise<Detector> {
    const options = checkOptions('options', opts);
    const weights = options.weights ?? defaultModelPath();
    if (typeof weights === 'string') checkPath('options.weights', weights);
    if (typeof weights !== 'string' && !(weights instanceof LaaNet))
      throw invalidArgument('options.weights', 'a weights file path or a LaaNet', weights);
    const owns = typeof weights === 'string';
    const net =
      typeof weights === 'string'
        ? await LaaNet.load(weights, { dtype: options.dtype ?? 'auto', strict: options.strict, device: options.device, threads: options.threads })
        : weights;
    const site = new Error();
    try {
      const calibration = readCalibration(net.info.metadata);
      const faces = resolveFaceDetector(options.faceDetector ?? DEFAULT_FACE_DETECTOR);
      const native = new (binding().NativeDetector)(net._nativeHandle(), { faceDetector: faces.kind, faceModel: faces.model });
      return new Detector(native, net, owns, calibration);
    } catch (err) {
      if (owns) net.dispose();
      throw fromNative(err, site);
    }
  }

  /** The model in use (its `info.source` names the weights). */
  get model(): ModelInfo {
    return this.#net.info;
  }

  async scoreVideo(path: string, options?: ScoreOptions): Promise<ScoreResult> {
    return this.#score(path, checkOptions('options', options));
  }

  async scoreImage(path: string, options?: Omit<ScoreOptions, 'frames'>): Promise<ScoreResult> {
    return this.#score(path, { ...checkOptions('options', options), frames: 1 });
  }

  /** Writes a self-contained HTML report of `result` (score with `heatmaps: true` to include the face crops); see writeReport. */
  report(result: ScoreResult, path: string, options: ReportOptions = {}): Promise<void> {
    return writeReport(result, path, { model: this.#net.info, ...options });
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
    checkPath('path', path);
    const frames = checkFrames('options.frames', options.frames);
    const threshold = options.threshold === undefined ? undefined : checkThreshold('options.threshold', options.threshold);
    const batch = options.batchSize ?? 8;
    if (!Number.isInteger(batch) || batch < 1 || batch > 256) throw invalidArgument('options.batchSize', 'an integer from 1 to 256', batch);
    const detectMaxSide = checkDetectMaxSide('options.detectMaxSide', options.detectMaxSide);
    const signal = checkSignal('options.signal', options.signal);
    const onProgress = checkFunction<NonNullable<ScoreOptions['onProgress']>>('options.onProgress', options.onProgress);
    for (const key of ['heatmaps', 'allFaces'] as const)
      if (options[key] !== undefined && typeof options[key] !== 'boolean') throw invalidArgument(`options.${key}`, 'a boolean', options[key]);
    if (options.landmarks !== undefined && typeof options.landmarks !== 'boolean' && typeof options.landmarks !== 'string')
      throw invalidArgument('options.landmarks', "a boolean, 'facemesh', 'dlib68' or a model file path", options.landmarks);
    const landmarks = options.landmarks === true ? resolveLandmarks(DEFAULT_LANDMARKS) : options.landmarks ? resolveLandmarks(options.landmarks) : '';
    const perturb = options.perturb === undefined ? undefined : checkOptions('options.perturb', options.perturb) as Degradation;
    if (signal?.aborted) throw new AbortError(signal.reason);

    const site = new Error();
    const run = this.#queue.then(async () => {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const flag = new (binding().AbortFlag)();
      const onAbort = () => flag.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const started = performance.now();
      // A callback that throws stops the work, and the call rejects with what it threw.
      let thrown: { error: unknown } | undefined;
      try {
        const progress = onProgress
          ? (stage: ProgressStage, done: number, total: number) => {
              if (thrown) return;
              try {
                onProgress({ stage, done, total });
              } catch (error) {
                thrown = { error };
                flag.abort();
              }
            }
          : undefined;
        const raw = await native.scoreMedia(path, { frames, heatmaps: !!options.heatmaps, batch, detectMaxSide, allFaces: !!options.allFaces, landmarks, ...(perturb ? { perturb } : {}) }, progress, flag);
        // Progress arrives through its own async handle: let the last events
        // (already queued when the job ended) run before the result is returned.
        if (progress) await new Promise((resolve) => setImmediate(resolve));
        if (thrown) throw thrown.error;
        return this.#result(path, raw, threshold, performance.now() - started);
      } catch (err) {
        if (thrown) throw thrown.error;
        if ((err as LaaError).code === 'ABORT_ERR') throw new AbortError(signal?.reason);
        throw fromNative(err, site);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #result(file: string, raw: NativeMediaScore, threshold: number | undefined, totalMs: number): ScoreResult {
    const info = this.#net.info;
    const cal = this.#calibration;
    const verdict = verdictOf(raw.score, cal, threshold);
    const percentile = cal ? percentileOf(raw.score, cal.referenceScores) : undefined;
    return {
      file,
      score: raw.score,
      verdict,
      ...(percentile !== undefined ? { percentile } : {}),
      explanation: explainVerdict(verdict, percentile, threshold === undefined ? cal : undefined),
      label: verdict === 'likely-fake' ? 'fake' : 'real',
      threshold: threshold ?? cal?.likelyFake ?? DEFAULT_THRESHOLD,
      ...(cal ? { calibration: { likelyFake: cal.likelyFake, uncertain: cal.uncertain, references: cal.referenceScores.length, reference: cal.reference } } : {}),
      logit: raw.logit,
      frames: raw.frames.map((f): FrameResult => {
        if (f.faces.length === 0) return { index: f.index, timeSec: f.timeSec, noFace: true };
        const faces = f.faces.map((face): FaceResult => {
          const points: Array<[number, number]> = [];
          if (face.landmarks) for (let k = 0; k < face.landmarks.length; k += 2) points.push([face.landmarks[k], face.landmarks[k + 1]]);
          return {
            box: { x: face.box.left, y: face.box.top, width: face.box.right - face.box.left, height: face.box.bottom - face.box.top },
            logit: face.logit,
            score: face.score,
            person: face.person,
            ...(face.heatmap ? { heatmap: face.heatmap } : {}),
            ...(face.crop ? { crop: face.crop } : {}),
            ...(face.landmarks ? { landmarks: points } : {}),
          };
        });
        return { index: f.index, timeSec: f.timeSec, facesFound: f.facesFound, ...faces[0], faces };
      }),
      ...(raw.people.length ? { people: raw.people } : {}),
      framesSampled: raw.frames.length,
      facesFound: raw.faces,
      media: raw.info,
      timings: { ...raw.timings, totalMs },
      model: {
        name: info.metadata.model_name ?? (info.source.startsWith('fill-rule:') ? 'untrained (fill rule)' : info.source.split(/[\\/]/).pop()!),
        source: info.source,
        dtype: info.dtype,
        untrained: info.source.startsWith('fill-rule:'),
        inputSize: info.inputSize,
      },
    };
  }
}
