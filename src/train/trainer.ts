/**
 * Training LAA-Net from TypeScript (the official scripts/train.py and lib/core_function.py; docs/IMPLEMENTATION.md,
 * Optimisation): real faces only, pseudo-fakes synthesised on the fly (SBI or BI), SAM(Adam), the warm-up/linear-decay
 * schedule and the backbone freeze. Each SAM step runs natively on the
 * LibTorch compute thread while loader threads synthesise the next batches;
 * this file drives the epoch loop, checkpoints and events.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortError, callNative, DisposedError, ensureDir, LaaError, invalidArgument } from '../binding/errors';
import { binding, type NativeStepResult, type NativeTrainer } from '../binding/native';
import type { Tensor } from '../model/laanet';
import { evaluate, type EvalReport, type EvaluateOptions } from '../eval/evaluate';
import type { BinaryMetrics } from '../eval/metrics';
import { readPreparedIndex } from '../data/prepare';
import { DEFAULT_BACKBONE, imagenetBackbone, type Backbone } from '../model/backbones';
import { LOADER_PREFETCH, positiveInt, resolveTrainerOptions, TRAINING_DEFAULTS, type ResolvedTrainerOptions, type Synthesis, type TrainerOptions } from './options';
export type { ResolvedTrainerOptions, Synthesis, TrainerOptions } from './options';

export interface LossValues {
  total: number;
  cls: number;
  hm: number;
  cst: number;
}

export type TrainEvent =
  | {
      type: 'step';
      epoch: number;
      step: number;
      stepsPerEpoch: number;
      globalStep: number;
      loss: LossValues;
      accuracy: number;
      gradNorm: number;
      lr: number;
      backboneFrozen: boolean;
      imagesPerSec: number;
      /** Time the step waited for the loader (ms): > 0 means synthesis is the bottleneck. */
      dataWaitMs: number;
      skipped: boolean;
      /** Distributed: bytes this rank all-reduced in the step (gradients of both passes, statistics). */
      bytesReduced: number;
    }
  | { type: 'epoch'; epoch: number; loss: LossValues; accuracy: number; seconds: number; lr: number }
  | { type: 'eval'; epoch: number; loss: LossValues; accuracy: number }
  /**
   * `options.evaluation` after epoch `epoch` (0-based) on the weights just written (`weights`: the file scored;
   * `preciseBn`: whether its BatchNorm statistics were recomputed); `failed` files had no face or did not decode.
   */
  | { type: 'evaluation'; epoch: number; video: BinaryMetrics; frame: BinaryMetrics; failed: number; seconds: number; weights: string; preciseBn: boolean }
  | { type: 'checkpoint'; epoch: number; step: number; path: string; weights: string; reason: 'epoch' | 'interval' | 'abort' }
  | { type: 'done'; epochs: number; weights: string };

export interface TrainBatch {
  input: Tensor;
  heatmap: Tensor;
  consistency: Tensor;
  labels: Tensor;
}

export interface StepResult {
  loss: LossValues;
  accuracy: number;
  gradNorm: number;
  images: number;
  skipped: boolean;
}

export interface RunOptions {
  signal?: AbortSignal;
  /**
   * Stop after this many epochs (checkpoint and evaluation written), keeping the schedule of `options.epochs`:
   * the first stage of a staged recipe. `--resume` later continues where it stopped. Default: `options.epochs`.
   */
  untilEpoch?: number;
}

/** What a checkpoint records about the run, to refuse resuming an incompatible one. */
interface RunConfig {
  synthesis: Synthesis;
  batchSize: number;
  framesPerVideo: number;
  inputSize: number;
  backbone: Backbone;
  seed: number;
  lr: number;
  lrBooster: number;
  weightDecay: number;
  adamEps: number;
  rho: number;
  lambda: { cls: number; hm: number; cst: number };
  freezeEpochs: number;
  precision: 'float32' | 'bfloat16';
  artifactGain: { start: number; epochs: number };
  degrade: number;
}

const CHECKPOINT = 'checkpoint.safetensors';
/**
 * Pseudo-epochs: the loader's batches are a pure function of (seed, epoch, step), so these negative
 * epochs name fixed, reproducible batch sets that no training epoch draws: the synthetic validation
 * pairs and the batches precise BN recomputes the statistics over.
 */
const PSEUDO_EPOCH = { validation: -1000, preciseBn: -2000 } as const;
let warnedPrecision = false;
const WEIGHTS = 'model.safetensors';

/** The official LinearDecayLR (lib/scheduler; docs/IMPLEMENTATION.md, Optimisation) for a run of `epochs` epochs. */
export function scheduledLr(epoch: number, epochs: number, base: number = TRAINING_DEFAULTS.lr, booster: number = TRAINING_DEFAULTS.lrBooster): number {
  const startDecay = Math.max(1, Math.floor(epochs / 4));
  const peak = booster * base;
  if (epoch < startDecay) return base + ((peak - base) * epoch) / startDecay;
  return Math.max(0, peak - (peak * (epoch - startDecay)) / Math.max(1, epochs - startDecay));
}

export class Trainer {
  #native: NativeTrainer | undefined;
  #running = false;
  readonly options: ResolvedTrainerOptions;
  /** Epoch and step the next `run()` starts from (after a resume, where the checkpoint stopped). */
  position = { epoch: 0, step: 0 };
  /**
   * Set when the checkpoint resumed was written by a run of another world size: the batches are the same,
   * but sums run in another order (and BatchNorm statistics differ without syncBatchNorm), so the run is not
   * bit-identical to continuing with the old world size.
   */
  resumedFrom?: { worldSize: number; note: string };

  private constructor(native: NativeTrainer, options: ResolvedTrainerOptions) {
    this.#native = native;
    this.options = options;
  }

  static async create(opts: TrainerOptions): Promise<Trainer> {
    const o = resolveTrainerOptions(opts);
    let init = 'scratch';
    let initPath = '';
    if (o.init !== undefined) {
      const i = o.init as { weights?: unknown; backbone?: unknown };
      if (typeof i.weights === 'string') [init, initPath] = ['weights', path.resolve(i.weights)];
      else if (i.backbone === 'imagenet') [init, initPath] = ['backbone', imagenetBackbone(o.backbone)];
      else if (typeof i.backbone === 'string') [init, initPath] = ['backbone', path.resolve(i.backbone)];
      else throw invalidArgument('options.init', "{ weights: path } or { backbone: path | 'imagenet' }", o.init);
    }
    const ckpt = path.join(o.outDir, CHECKPOINT);
    const dist = o.distributed;
    const rank0 = !dist || dist.rank === 0;
    // Rank 0 owns the output folder (the others need not see it); its verdict is shared once the ranks have met.
    let hasCkpt = rank0 && fs.existsSync(ckpt);
    let refusal = hasCkpt && !o.resume ? `${o.outDir} already holds a training checkpoint; pass resume: true to continue it or choose another outDir` : '';
    if (refusal && !dist) throw new LaaError('EINVAL', refusal);
    const index = await readPreparedIndex(o.data);
    if (index.length === 0) throw new LaaError('EINVAL', `Expected prepared frames in ${path.join(o.data, 'index.jsonl')} but it holds none; run laa-native prepare on some videos first`);
    const records = index.map((r) => ({ image: path.resolve(o.data, r.image), video: r.video, landmarks: Float32Array.from(r.landmarks.flat()) }));
    if (rank0) ensureDir('options.outDir', o.outDir);

    const native = await callNative(() =>
      binding().NativeTrainer.create({
        records, inputSize: o.inputSize, backbone: o.backbone, init, initPath, seed: o.seed, rho: o.rho, lr: o.lr,
        weightDecay: o.weightDecay, adamEps: o.adamEps, lambdaCls: o.lambda.cls, lambdaHm: o.lambda.hm, lambdaCst: o.lambda.cst,
        device: o.device, threads: o.threads, synthesis: o.synthesis, batchSize: o.batchSize,
        framesPerVideo: o.framesPerVideo, workers: o.workers, prefetch: LOADER_PREFETCH, augment: true, precision: o.precision, strict: o.strict,
        artifactGain: o.artifactGain.start, artifactGainEpochs: o.artifactGain.epochs, degrade: o.degrade,
        distributed: dist,
      }),
    );
    const trainer = new Trainer(native, o);
    if (dist) {
      try {
        ({ hasCkpt, refusal } = JSON.parse(await callNative(() => native.shareString(JSON.stringify({ hasCkpt, refusal })))));
      } catch (err) {
        native.dispose();
        throw err;
      }
      if (refusal) {
        native.dispose();
        throw new LaaError('EINVAL', refusal);
      }
    }
    const note = native.info().precisionNote;
    if (note && !warnedPrecision) {
      warnedPrecision = true;
      process.emitWarning(`laa-native: ${note}`, { code: 'LAA_BF16_FALLBACK' });
    }
    if (hasCkpt) {
      try {
        let meta = await callNative(() => native.loadCheckpoint(ckpt));
        if (dist) meta = JSON.parse(await callNative(() => native.shareString(JSON.stringify(meta))));
        trainer.#checkCompatible(meta);
        trainer.position = { epoch: Number(meta.epoch), step: Number(meta.step) };
        const was = Number(meta.world_size ?? 1);
        const now = dist?.worldSize ?? 1;
        if (was !== now) {
          // BatchNorm sees the whole global batch in one process or with syncBatchNorm; otherwise each rank's rows.
          const local = (was > 1 && meta.sync_batch_norm !== '1') || (now > 1 && !o.distributed?.syncBatchNorm);
          const note = `resuming a checkpoint of ${was} process${was > 1 ? 'es' : ''} with ${now}: the same batches, but sums in another order${local ? ' and BatchNorm statistics over other rows' : ''}, so not bit-identical to continuing with ${was}`;
          trainer.resumedFrom = { worldSize: was, note };
          if (rank0) process.emitWarning(`laa-native: ${note}`, { code: 'LAA_WORLD_SIZE_CHANGED' });
        }
      } catch (err) {
        native.dispose();
        throw err;
      }
    }
    return trainer;
  }

  /** The precision the passes run in: `options.precision`, or float32 after a bfloat16 fallback. */
  get precision(): 'float32' | 'bfloat16' {
    return (this.#live().info().precision ?? this.options.precision) as 'float32' | 'bfloat16';
  }

  /** This process's rank (0 in a single process) and the number of processes. */
  get rank(): number {
    return this.options.distributed?.rank ?? 0;
  }
  get worldSize(): number {
    return this.options.distributed?.worldSize ?? 1;
  }

  /** Parameters of the network (what each all-reduce of a distributed step carries, × 4 bytes). */
  get parameterCount(): number {
    return this.#live().info().parameters;
  }

  get stepsPerEpoch(): number {
    return this.#live().info().stepsPerEpoch ?? 0;
  }

  /** Paths of the latest checkpoint, of the exported weights (usable by `Detector.create({ weights })`) and of the precise-BN copy that evaluations score. */
  get files(): { checkpoint: string; weights: string; evaluationWeights: string; log: string } {
    const d = this.options.outDir;
    return {
      checkpoint: path.join(d, CHECKPOINT),
      weights: path.join(d, WEIGHTS),
      evaluationWeights: path.join(d, 'evaluation-weights.safetensors'),
      log: path.join(d, 'log.jsonl'),
    };
  }

  #config(): RunConfig {
    const o = this.options;
    return {
      synthesis: o.synthesis, batchSize: o.batchSize, framesPerVideo: o.framesPerVideo, inputSize: o.inputSize,
      backbone: o.backbone, seed: o.seed, lr: o.lr, lrBooster: o.lrBooster, weightDecay: o.weightDecay, adamEps: o.adamEps, rho: o.rho, lambda: o.lambda,
      freezeEpochs: o.freezeEpochs, precision: o.precision, artifactGain: o.artifactGain, degrade: o.degrade,
    };
  }

  #checkCompatible(meta: Record<string, string>): void {
    let saved: RunConfig;
    try {
      // Checkpoints from before these options: float32, no curriculum, B4, no degradations.
      saved = { precision: 'float32', artifactGain: { start: 1, epochs: 0 }, backbone: DEFAULT_BACKBONE, adamEps: 1e-8, degrade: 0, ...JSON.parse(meta.config ?? '') };
    } catch {
      throw new LaaError('ECORRUPT', `${this.files.checkpoint} has no readable run configuration`);
    }
    const now = this.#config();
    const diff = (Object.keys(now) as (keyof RunConfig)[]).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]));
    if (diff.length)
      throw new LaaError(
        'EINVAL',
        `cannot resume ${this.files.checkpoint}: it was trained with different ${diff
          .map((k) => `${k} (checkpoint ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])})`)
          .join(', ')}`,
      );
    if (!Number.isInteger(Number(meta.epoch)) || !Number.isInteger(Number(meta.step)))
      throw new LaaError('ECORRUPT', `${this.files.checkpoint} lacks its epoch/step position`);
  }

  #live(): NativeTrainer {
    if (!this.#native) throw new DisposedError('this Trainer');
    return this.#native;
  }

  async #checkpoint(epoch: number, step: number): Promise<void> {
    const n = this.#live();
    const meta = {
      epoch: String(epoch),
      step: String(step),
      config: JSON.stringify(this.#config()),
      seed: String(this.options.seed),
      epochs: String(this.options.epochs),
      written: new Date().toISOString(),
    };
    await callNative(() => n.saveCheckpoint(this.files.checkpoint, meta));
    await callNative(() => n.exportWeights(this.files.weights, 'float32', this.#weightsMetadata(epoch, step)));
  }

  /** Metadata of the weights files a run writes at (epoch, step). */
  #weightsMetadata(epoch: number, step: number): Record<string, string> {
    return { trained_by: 'laa-native Trainer', synthesis: this.options.synthesis, epoch: String(epoch), step: String(step) };
  }

  #log(event: TrainEvent): void {
    if (this.rank !== 0) return;
    fs.appendFileSync(this.files.log, JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  }

  /**
   * Trains from `position` to the last epoch, yielding an event per step,
   * epoch, validation and checkpoint. Aborting (signal) finishes the step in
   * flight, writes a checkpoint and throws an AbortError; `resume: true` on a
   * new Trainer continues exactly from there.
   */
  async *run(opts: RunOptions = {}): AsyncGenerator<TrainEvent, void, undefined> {
    if (this.#running) throw new LaaError('EINVAL', 'this Trainer is already running');
    this.#running = true;
    const { signal } = opts;
    const n = this.#live();
    const o = this.options;
    const until = positiveInt('options.untilEpoch', opts.untilEpoch, o.epochs, 1);
    try {
      const emit = (e: TrainEvent) => {
        this.#log(e);
        return e;
      };
      for (let epoch = this.position.epoch; epoch < Math.min(o.epochs, until); epoch++) {
        const lr = scheduledLr(epoch, o.epochs, o.lr, o.lrBooster);
        const frozen = epoch < o.freezeEpochs;
        n.setSchedule(lr, frozen);
        const first = epoch === this.position.epoch ? this.position.step : 0;
        const steps = n.beginEpoch(epoch, first);
        const started = Date.now();
        const sum = { total: 0, cls: 0, hm: 0, cst: 0, acc: 0, images: 0 };
        for (let step = first; step < steps; step++) {
          // An abort on any rank stops every rank before the same step (the request travels with the step).
          const t0 = Date.now();
          const r: NativeStepResult = await callNative(() => n.step(!!signal?.aborted));
          if (r.stopped) {
            await this.#checkpoint(epoch, step);
            this.position = { epoch, step };
            yield emit({ type: 'checkpoint', epoch, step, path: this.files.checkpoint, weights: this.files.weights, reason: 'abort' });
            throw new AbortError(signal?.reason ?? 'another rank was stopped');
          }
          const seconds = (Date.now() - t0) / 1000;
          sum.total += r.total * r.images;
          sum.cls += r.cls * r.images;
          sum.hm += r.hm * r.images;
          sum.cst += r.cst * r.images;
          sum.acc += r.accuracy * r.images;
          sum.images += r.images;
          this.position = { epoch, step: step + 1 };
          yield emit({
            type: 'step', epoch, step, stepsPerEpoch: steps, globalStep: epoch * steps + step,
            loss: { total: r.total, cls: r.cls, hm: r.hm, cst: r.cst }, accuracy: r.accuracy, gradNorm: r.gradNorm,
            lr, backboneFrozen: frozen, imagesPerSec: r.images / Math.max(seconds, 1e-9), dataWaitMs: r.dataWaitMs,
            skipped: r.skipped, bytesReduced: r.bytesReduced,
          });
          if (o.checkpointEvery > 0 && (step + 1) % o.checkpointEvery === 0 && step + 1 < steps) {
            await this.#checkpoint(epoch, step + 1);
            yield emit({ type: 'checkpoint', epoch, step: step + 1, path: this.files.checkpoint, weights: this.files.weights, reason: 'interval' });
          }
        }
        const k = Math.max(1, sum.images);
        yield emit({
          type: 'epoch', epoch, loss: { total: sum.total / k, cls: sum.cls / k, hm: sum.hm / k, cst: sum.cst / k },
          accuracy: sum.acc / k, seconds: (Date.now() - started) / 1000, lr,
        });
        if (o.validateSteps > 0) {
          // A fixed pseudo-epoch of synthetic pairs, the same every time: comparable across epochs.
          const v = await callNative(() => n.evaluateSynthetic(PSEUDO_EPOCH.validation, o.validateSteps));
          yield emit({ type: 'eval', epoch, loss: { total: v.total, cls: v.cls, hm: v.hm, cst: v.cst }, accuracy: v.accuracy });
        }
        this.position = { epoch: epoch + 1, step: 0 };
        if (epoch + 1 === o.epochs && o.preciseBnSteps > 0) await callNative(() => n.recalibrateBatchNorm(PSEUDO_EPOCH.preciseBn, o.preciseBnSteps));
        await this.#checkpoint(epoch + 1, 0);
        yield emit({ type: 'checkpoint', epoch: epoch + 1, step: 0, path: this.files.checkpoint, weights: this.files.weights, reason: 'epoch' });
        const ev = o.evaluation;
        if (ev && ((epoch + 1) % ev.every === 0 || epoch + 1 === o.epochs)) {
          // The weights the checkpoint just wrote (after the last epoch they already carry the run's precise BN),
          // or a recalibrated copy of them; an abort in here loses nothing.
          const last = epoch + 1 === o.epochs && o.preciseBnSteps > 0;
          let weights = this.files.weights;
          if (ev.preciseBnSteps > 0 && !last) {
            weights = this.files.evaluationWeights;
            const meta = { ...this.#weightsMetadata(epoch + 1, 0), precise_bn_steps: String(ev.preciseBnSteps) };
            await callNative(() => n.recalibrateBatchNorm(PSEUDO_EPOCH.preciseBn, ev.preciseBnSteps, weights, meta));
          }
          // Rank 0 scores alone; the others wait for it in the next step's first all-reduce (timeoutMs).
          if (this.rank === 0) {
            const report = await evaluate({ real: ev.real, fake: ev.fake, frames: ev.frames, weights, threads: o.threads, signal });
            yield emit({
              type: 'evaluation', epoch, video: report.video, frame: report.frame, failed: report.failed.length,
              seconds: report.elapsedMs / 1000, weights, preciseBn: last || ev.preciseBnSteps > 0,
            });
          }
        }
      }
      if (until >= o.epochs) yield emit({ type: 'done', epochs: o.epochs, weights: this.files.weights });
    } finally {
      this.#running = false;
    }
  }

  /** The batch step `step` of `epoch` trains on (inputs normalised to [−1, 1], targets, labels 1 = fake). */
  async makeBatch(epoch: number, step: number): Promise<TrainBatch> {
    const n = this.#live();
    positiveInt('epoch', epoch, 0, -1_000_000);
    positiveInt('step', step, 0, 0);
    return (await callNative(() => n.makeBatch(epoch, step))) as TrainBatch;
  }

  /**
   * One SAM step on a batch you supply (custom loops, research); with
   * `evaluate: true` only the losses in eval mode, no update.
   */
  async trainOnBatch(batch: TrainBatch, opts: { evaluate?: boolean } = {}): Promise<StepResult> {
    if (this.#running) throw new LaaError('EINVAL', 'this Trainer is running; wait for run() to finish');
    const n = this.#live();
    const r = await callNative(() => n.stepBatch(batch, !!opts.evaluate));
    return { loss: { total: r.total, cls: r.cls, hm: r.hm, cst: r.cst }, accuracy: r.accuracy, gradNorm: r.gradNorm, images: r.images, skipped: r.skipped };
  }

  /**
   * "Precise BN": replaces every BatchNorm's running statistics by their plain
   * average over `steps` training batches (train-mode passes, no update).
   * After a short run from scratch the running averages (momentum 0.01 in the
   * backbone) lag the weights and eval-mode scores suffer; `run()` does this
   * before its last checkpoint when `preciseBnSteps` > 0.
   */
  async recalibrateBatchNorm(steps = 16): Promise<void> {
    if (this.#running) throw new LaaError('EINVAL', 'this Trainer is running; recalibrate between runs');
    positiveInt('steps', steps, 16);
    const n = this.#live();
    await callNative(() => n.recalibrateBatchNorm(PSEUDO_EPOCH.preciseBn, steps));
  }

  /** Writes the current weights as a LaaNet weights file (the 803 official keys). */
  async exportWeights(file: string, dtype: 'float32' | 'float64' | 'bfloat16' = 'float32'): Promise<void> {
    const n = this.#live();
    await callNative(() => n.exportWeights(path.resolve(file), dtype, { trained_by: 'laa-native Trainer', epoch: String(this.position.epoch), step: String(this.position.step) }));
  }

  /**
   * Scores real and fake videos with the current weights (exported to
   * `outDir/model.safetensors` first) and reports video- and frame-level
   * AUC/AP/accuracy/EER: `evaluate()` of the library.
   */
  async evaluate(opts: Omit<EvaluateOptions, 'weights' | 'detector'>): Promise<EvalReport> {
    if (this.#running) throw new LaaError('EINVAL', 'this Trainer is running; evaluate between runs');
    await this.exportWeights(this.files.weights);
    return evaluate({ ...opts, weights: this.files.weights, threads: opts.threads ?? this.options.threads });
  }

  /** Releases the network, optimiser state and loader threads. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }
}

/** Tests only: SamAdam on loss = mean((x·w − y)²) in float64, `steps` SAM steps. */
export async function _samStepLinear(o: {
  w: Float64Array; x: Float64Array; xShape: [number, number]; y: Float64Array; rho: number; lr: number; weightDecay: number; steps: number;
}): Promise<Float64Array> {
  const r = await callNative(() =>
    binding().samStepLinear({
      w: { data: o.w, shape: [o.w.length] }, x: { data: o.x, shape: o.xShape }, y: { data: o.y, shape: [o.y.length] },
      rho: o.rho, lr: o.lr, weightDecay: o.weightDecay, steps: o.steps,
    }),
  );
  return r.data as Float64Array;
}
