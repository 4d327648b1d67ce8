import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { AbortError, callNative, checkOptions, checkPath, checkSignal, checkThreads, DisposedError, fromNative, invalidArgument, LaaError } from '../binding/errors';
import { binding, packageRoot, type NativeLaaNet } from '../binding/native';
import { checkBackbone, DEFAULT_BACKBONE, type Backbone } from './backbones';

import type { DType, DTypeOption, Device } from './types';
export type { DType, DTypeOption, Device } from './types';
export type HeadName = 'cls' | 'hm' | 'cstency';

/** A dense row-major tensor. Inputs may be float32 or float64. */
export interface Tensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

export interface LoadOptions {
  /**
   * Compute precision. `float64` matches the official code bit for bit; `bfloat16` is fast on CPUs with native
   * bfloat16 (AVX512-BF16 or AMX; `versions().cpu.nativeBf16`) and on GPUs. Elsewhere a `bfloat16` request runs
   * float32, with a one-time warning, and `info.dtype` says `float32` (unless `strict`). `auto` measures float32
   * against bfloat16 at load, on two calibration faces, and keeps bfloat16 only where it is native, faster and
   * moves P(fake) by at most 0.01 (`info.dtypeNote` says what it chose and why). On CUDA `bfloat16` and `float16`
   * run the inference plan in that precision (`float16`: CUDA only); `float32` is true float32 there (no TF32).
   * Default `float32` (Detector: `auto`).
   */
  dtype?: DTypeOption;
  /** A `bfloat16` request on a CPU without native bfloat16 fails (EUNSUPPORTED) instead of running float32. */
  strict?: boolean;
  /**
   * `auto` (default): CUDA when this binary was built with CUDA and a GPU is visible, else the CPU, so the
   * CPU build behaves exactly as `cpu`. `cuda` fails with EDEVICE when CUDA is not usable; `cpu` always stays on the CPU.
   */
  device?: Device;
  /** LibTorch intra-op threads used by this model's work, 1 to 4 per core. Default: the machine's cores. */
  threads?: number;
}

export interface ReferenceOptions extends LoadOptions {
  /** The backbone to build (`efficientnet-b4`, the official one, by default). A weights file names its own. */
  backbone?: Backbone;
}

export interface ForwardOptions {
  /** Heads to compute. Default `['cls', 'hm', 'cstency']`; scoring needs only `cls`. */
  heads?: HeadName[];
  /** Also return the backbone endpoints and E-FPN stage outputs (parity checks, research). */
  intermediates?: boolean;
  signal?: AbortSignal;
}

export interface ForwardFeatures {
  /**
   * Backbone features fed to the E-FPN: the stride-8, last stride-16 and last stage outputs and the head conv
   * (B4: 56@H/8, 160@H/16, 448@H/32, 1792@H/32; Lite0: 40, 112, 320, 1280).
   */
  reduction_3: Tensor;
  reduction_4: Tensor;
  reduction_5: Tensor;
  reduction_6: Tensor;
  /** E-FPN stage outputs (deconv_4 is the heads' input). */
  deconv_1: Tensor;
  deconv_2: Tensor;
  deconv_3: Tensor;
  deconv_4: Tensor;
}

export interface ForwardResult {
  /** Classification logit, [n, 1]. sigmoid(cls) = P(fake). */
  cls?: Tensor;
  /** Artifact heatmap logits, [n, 1, H/4, W/4]. */
  hm?: Tensor;
  /** Self-consistency embeddings, [n, 256, H/4, W/4]. */
  cstency?: Tensor;
  features?: ForwardFeatures;
}

export interface ModelInfo {
  /** The precision the model runs in (after any fallback or `auto` choice). */
  dtype: DType;
  /** What was asked for: a dtype or `auto`. */
  requestedDtype: DTypeOption;
  /** Why `dtype` differs from the request, or what `auto` chose and why (absent when it runs what was asked). */
  dtypeNote?: string;
  /** The face-crop size the weights were trained at (`input_size` metadata; 384 without it). */
  inputSize: number;
  device: string;
  /** The weights file, or a description of generated weights. */
  source: string;
  parameters: number;
  /** The backbone, e.g. `efficientnet-b4` (official) or `efficientnet-lite0`. */
  backbone: Backbone;
  /** The architecture name weights files carry, e.g. `laa-net-efficientnet-b4-efpn`. */
  architecture: string;
  metadata: Record<string, string>;
}

const HEADS: readonly HeadName[] = ['cls', 'hm', 'cstency'];
const DTYPES: readonly DTypeOption[] = ['float32', 'float64', 'bfloat16', 'float16', 'auto'];
const SAVE_DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'float16'];
/** Face crops `auto` calibrates on (models/calibration/). */
const CALIBRATION = ['obama-256.png', 'biden-256.png'].map((f) => path.join(packageRoot, 'models', 'calibration', f));
let warnedFallback = false;
const DEVICES: readonly Device[] = ['cpu', 'cuda', 'auto'];

/** The fixture fill rule's seed (fixtures/README.md). */
export const REFERENCE_SEED = 20261125n;

function nativeOptions(options?: LoadOptions) {
  const opts = checkOptions('options', options);
  const dtype = opts.dtype ?? 'float32';
  if (!DTYPES.includes(dtype)) throw invalidArgument('options.dtype', `one of ${DTYPES.join(', ')}`, dtype);
  const device = opts.device ?? 'auto';
  if (!DEVICES.includes(device)) throw invalidArgument('options.device', `one of ${DEVICES.join(', ')}`, device);
  const threads = checkThreads('options.threads', opts.threads, os.availableParallelism());
  if (opts.strict !== undefined && typeof opts.strict !== 'boolean') throw invalidArgument('options.strict', 'a boolean', opts.strict);
  return { dtype, device, threads, strict: !!opts.strict, ...(dtype === 'auto' ? { calibration: CALIBRATION } : {}) };
}

/** One warning per process when a bfloat16 request runs float32 (the note says why). */
function warnFallback(net: LaaNet): LaaNet {
  const note = net.info.dtypeNote;
  if (!warnedFallback && note && net.info.requestedDtype !== 'auto' && net.info.dtype !== net.info.requestedDtype) {
    warnedFallback = true;
    process.emitWarning(`laa-native: ${note}`, { code: 'LAA_BF16_FALLBACK' });
  }
  return net;
}

function throwIfAborted(signal?: AbortSignal) {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * The data and shape of a tensor argument, read once (a getter that throws becomes EINVAL). Typed arrays on a
 * SharedArrayBuffer are copied: the addon reads the memory on another thread, which another agent could change.
 */
export function readTensor(name: string, t: unknown): { data: Float32Array | Float64Array; shape: number[] } {
  if (!t || typeof t !== 'object') throw invalidArgument(name, '{ data, shape }', t);
  let data: unknown, shape: unknown;
  try {
    ({ data, shape } = t as Tensor);
  } catch (err) {
    throw new LaaError('EINVAL', `Expected ${name} to be { data, shape } but reading it threw: ${(err as Error)?.message ?? err}`, { cause: err });
  }
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) throw invalidArgument(`${name}.data`, 'a Float32Array or Float64Array', data);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new LaaError('ESHAPE', `Expected ${name}.shape to be an array of non-negative integers but received ${JSON.stringify(shape)?.slice(0, 100)}`);
  if (typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer)
    data = data instanceof Float32Array ? new Float32Array(data) : new Float64Array(data);
  return { data: data as Float32Array | Float64Array, shape: [...shape] };
}

/**
 * The LAA-Net network (an EfficientNet backbone, B4 for the official model, + E-FPN + hm/cls/cstency heads).
 * All work runs on worker threads; calls on one model run one at a time, in order.
 */
export class LaaNet {
  #native: NativeLaaNet | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(native: NativeLaaNet) {
    this.#native = native;
  }

  /**
   * Loads a `.safetensors` file (this package's format) or an official LAA-Net `.pth` checkpoint. The backbone
   * comes from the file (its `architecture` metadata, else the shapes of its tensors).
   */
  static async load(path: string, options?: LoadOptions): Promise<LaaNet> {
    checkPath('path', path);
    const opts = nativeOptions(options);
    return warnFallback(new LaaNet(await callNative(() => binding().NativeLaaNet.load(path, opts))));
  }

  /**
   * A model with the deterministic, untrained weights of the fixture fill rule
   * (`shared/fixtures/README.md`). Useful for tests and demos, meaningless for scoring.
   */
  static async reference(seed: bigint = REFERENCE_SEED, options?: ReferenceOptions): Promise<LaaNet> {
    if (typeof seed !== 'bigint' || seed < 0n || seed >= 1n << 64n) throw invalidArgument('seed', 'a u64 bigint', seed);
    const opts = { ...nativeOptions(options), backbone: checkBackbone('options.backbone', options?.backbone ?? DEFAULT_BACKBONE) };
    return warnFallback(new LaaNet(await callNative(() => binding().NativeLaaNet.reference(seed, opts))));
  }

  /** Runs the network on a normalised RGB batch `[n, 3, H, W]` (values in [-1, 1], H and W multiples of 32). */
  async forward(input: Tensor, opts?: ForwardOptions): Promise<ForwardResult> {
    const native = this.#live();
    const options = checkOptions('options', opts);
    const { data, shape } = readTensor('input', input);
    const heads = options.heads ?? HEADS;
    if (!Array.isArray(heads) || heads.length === 0) throw invalidArgument('options.heads', `a non-empty list of ${HEADS.join(', ')}`, heads);
    for (const h of heads) if (!HEADS.includes(h)) throw invalidArgument('options.heads', `a list of ${HEADS.join(', ')}`, h);
    if (options.intermediates !== undefined && typeof options.intermediates !== 'boolean')
      throw invalidArgument('options.intermediates', 'a boolean', options.intermediates);
    const signal = checkSignal('options.signal', options.signal);
    const mask = { cls: heads.includes('cls'), hm: heads.includes('hm'), cstency: heads.includes('cstency') };
    const site = new Error();
    return this.#enqueue(signal, async () => {
      try {
        return (await native.forward(data, shape, mask, !!options.intermediates)) as ForwardResult;
      } catch (err) {
        throw fromNative(err, site);
      }
    });
  }

  /** Writes the official layout as safetensors (803 keys for B4); `metadata` adds string entries to its header. */
  async save(path: string, opts?: { dtype?: DType; metadata?: Record<string, string> }): Promise<void> {
    const native = this.#live();
    const options = checkOptions('options', opts);
    checkPath('path', path);
    if (fs.existsSync(path) && fs.statSync(path).isDirectory())
      throw new LaaError('EINVAL', `Expected a file path for path but '${path}' is a directory`);
    if (options.metadata !== undefined) {
      if (options.metadata === null || typeof options.metadata !== 'object' || Array.isArray(options.metadata))
        throw invalidArgument('options.metadata', 'an object of string values', options.metadata);
      for (const [k, v] of Object.entries(options.metadata))
        if (typeof v !== 'string') throw invalidArgument(`options.metadata.${k}`, 'a string', v);
    }
    if (options.dtype !== undefined && !SAVE_DTYPES.includes(options.dtype))
      throw invalidArgument('options.dtype', `one of ${SAVE_DTYPES.join(', ')}`, options.dtype);
    const site = new Error();
    return this.#enqueue(undefined, async () => {
      try {
        await native.save(path, options.dtype, options.metadata);
      } catch (err) {
        throw fromNative(err, site);
      }
    });
  }

  get info(): ModelInfo {
    return this.#live().info() as ModelInfo;
  }

  /** @internal The native handle, for other native objects that share this model. */
  _nativeHandle(): NativeLaaNet {
    return this.#live();
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** Frees the native memory. Work already queued finishes first; later calls throw DisposedError. */
  dispose(): void {
    const native = this.#native;
    this.#native = undefined;
    if (native) void this.#queue.finally(() => native.dispose());
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(): NativeLaaNet {
    if (!this.#native) throw new DisposedError('this LaaNet');
    return this.#native;
  }

  #enqueue<T>(signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    const run = this.#queue.then(() => {
      throwIfAborted(signal);
      return job();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

