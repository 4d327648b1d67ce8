/**
 * Loads the compiled addon: a matching prebuild in `prebuilds/<platform>-<arch>/`
 * or a local build in `build/Release/`, and explains what to do when neither loads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LaaError } from './errors';

export interface NativeTensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

export interface NativeModelOptions {
  dtype: string;
  device: string;
  threads: number;
  strict: boolean;
  backbone?: string;
  /** Face crops for dtype 'auto'. */
  calibration?: string[];
}

export interface NativeLaaNetInfo {
  dtype: string;
  requestedDtype: string;
  dtypeNote?: string;
  inputSize: number;
  device: string;
  source: string;
  parameters: number;
  backbone: string;
  architecture: string;
  metadata: Record<string, string>;
}

export interface NativeLaaNet {
  forward(
    data: Float32Array | Float64Array,
    shape: number[],
    heads: { hm: boolean; cls: boolean; cstency: boolean },
    intermediates: boolean,
  ): Promise<Record<string, NativeTensor> & { features?: Record<string, NativeTensor> }>;
  save(path: string, dtype?: string, metadata?: Record<string, string>): Promise<void>;
  info(): NativeLaaNetInfo;
  dispose(): void;
}

export interface NativeStepResult {
  total: number;
  cls: number;
  hm: number;
  cst: number;
  gradNorm: number;
  accuracy: number;
  images: number;
  skipped: boolean;
  /** Distributed: a rank asked to stop, so no rank stepped. */
  stopped: boolean;
  bytesReduced: number;
  dataWaitMs: number;
  stepMs: number;
}

export interface NativeTrainBatch {
  input: NativeTensor;
  heatmap: NativeTensor;
  consistency: NativeTensor;
  labels: NativeTensor;
}

export interface NativeTrainer {
  /** `stop`: ask every rank to stop before this step (distributed). */
  step(stop?: boolean): Promise<NativeStepResult>;
  /** Distributed: waits for every rank (resolves at once in one process). */
  barrier(): Promise<void>;
  /** Distributed: rank 0's value on every rank (the value itself in one process). */
  shareString(value: string): Promise<string>;
  stepBatch(batch: NativeTrainBatch, evaluate?: boolean): Promise<NativeStepResult>;
  makeBatch(epoch: number, step: number): Promise<NativeTrainBatch>;
  /** With `exportPath`: writes recalibrated weights there and leaves the run's statistics and RNG as they were. */
  recalibrateBatchNorm(epoch: number, steps: number, exportPath?: string, metadata?: Record<string, string>): Promise<void>;
  evaluateSynthetic(epoch: number, steps: number): Promise<NativeStepResult>;
  beginEpoch(epoch: number, firstStep: number): number;
  setSchedule(lr: number, backboneFrozen: boolean): void;
  saveCheckpoint(path: string, metadata: Record<string, string>): Promise<void>;
  loadCheckpoint(path: string): Promise<Record<string, string>>;
  exportWeights(path: string, dtype: string | undefined, metadata: Record<string, string>): Promise<void>;
  info(): { parameters: number; lr: number; backboneFrozen: boolean; precision: string; precisionNote?: string; rank: number; worldSize: number; stepsPerEpoch?: number; videos?: number; frames?: number };
  dispose(): void;
}

export interface NativeVersions {
  libtorch: string;
  /** TORCH_VERSION recorded inside the libtorch_cpu that was loaded ('' if it does not say). */
  libtorchRuntime: string;
  /** The libtorch_cpu file that was loaded. */
  libtorchLibrary: string;
  /** Where the build's LibTorch came from: Debian's libtorch-dev, an official distribution, or a Python torch. */
  libtorchSource: 'debian' | 'official' | 'python';
  /** Built with the C++11 std::string ABI (_GLIBCXX_USE_CXX11_ABI=1), as that LibTorch was. */
  cxx11Abi: boolean;
  opencv: string;
  dlib: string;
  cuda: boolean;
  cudaDevices: number;
  /** Built against a CUDA LibTorch, and the CUDA toolkit version it found ('' when not). */
  cudaBuild: boolean;
  cudaVersion: string;
  mkldnn: boolean;
  threads: number;
  parallel: string;
  /** What this CPU offers and what LibTorch's kernels use of it. */
  cpu: {
    vendor: string;
    brand: string;
    /** Usable instruction sets among avx2 fma avx_vnni avx512f/bw/vl/dq avx512_vnni avx512_bf16 avx512_fp16 amx_tile/bf16/int8. */
    flags: string;
    avx2: boolean;
    avx512: boolean;
    avx512Bf16: boolean;
    amx: boolean;
    /** bfloat16 arithmetic in hardware (AVX512-BF16 or AMX) that oneDNN may use: where `bfloat16` is fast. */
    nativeBf16: boolean;
    /** oneDNN's effective ISA (honours ONEDNN_MAX_CPU_ISA), '' when the loaded oneDNN does not say. */
    onednnIsa: string;
    /** ATen's vectorised kernels (at::show_config "CPU capability usage"). */
    atenCapability: string;
  };
  /**
   * The memory arena that keeps LibTorch's large CPU buffers (64 KiB and up) mapped between calls, so that a
   * forward reuses its activations' pages instead of mapping and faulting them in again. Idle blocks are kept up
   * to `capBytes` (an eighth of the RAM, at most 4 GiB; `LAA_NATIVE_ARENA_MB` sets it, 0 turns the arena off)
   * and returned to the system when a model or trainer is disposed.
   */
  tensorArena: {
    enabled: boolean;
    /** Idle blocks kept for reuse. */
    cachedBytes: number;
    /** Blocks held by live tensors (weights, activations in flight). */
    inUseBytes: number;
    capBytes: number;
    /** Blocks mapped from the system, and allocations served from idle blocks, since the process started. */
    maps: number;
    reuses: number;
  };
}

export interface NativeWeightsFile {
  format: 'safetensors' | 'pytorch-checkpoint';
  epoch?: number;
  metadata: Record<string, string>;
  tensors: Array<{ name: string; dtype: string; shape: number[]; data: Float32Array | Float64Array | BigInt64Array | Int32Array }>;
}

export interface NativeMediaScore {
  info: { isVideo: boolean; frameCount: number; fps: number; durationSec: number; width: number; height: number };
  frames: Array<{
    index: number;
    timeSec: number;
    facesFound: number;
    faces: Array<{
      box: { left: number; top: number; right: number; bottom: number };
      logit: number;
      /** sigmoid(logit) */
      score: number;
      person: number;
      heatmap?: { data: Float32Array; shape: [number, number] };
      crop?: { data: Uint8Array; shape: [number, number, 3] };
      landmarks?: Float32Array;
    }>;
  }>;
  people: Array<{ id: number; faces: number; logit: number; score: number }>;
  faces: number;
  logit: number;
  score: number;
  timings: { decodeMs: number; detectMs: number; cropMs: number; inferMs: number };
}

export interface NativeAbortFlag {
  abort(): void;
}

export interface NativeDetector {
  scoreMedia(
    path: string,
    options: { frames: number; heatmaps: boolean; batch: number; detectMaxSide: number; allFaces: boolean; landmarks: string; perturb?: object },
    onProgress: ((stage: 'decode' | 'detect' | 'infer', done: number, total: number) => void) | undefined,
    abort: NativeAbortFlag,
  ): Promise<NativeMediaScore>;
  dispose(): void;
}

export interface Binding {
  NativeDetector: new (model: NativeLaaNet, options?: { faceDetector: string; faceModel: string }) => NativeDetector;
  AbortFlag: new () => NativeAbortFlag;
  readWeights(path: string): Promise<NativeWeightsFile>;
  convertBackbone(src: string, dst: string, backbone: string, dtype: string, metadata: Record<string, string>): Promise<{ tensors: number; parameters: number; classifier: boolean }>;
  writeHeatmapOverlay(file: string, crop: Uint8Array, cropShape: number[], heat: Float32Array, heatShape: number[]): Promise<void>;
  NativeLaaNet: {
    load(path: string, options: NativeModelOptions): Promise<NativeLaaNet>;
    reference(seed: bigint, options: NativeModelOptions): Promise<NativeLaaNet>;
  };
  versions(): NativeVersions;
  degradeImage(rgb: Uint8Array, width: number, height: number, degradation: object): Promise<{ data: Uint8Array; width: number; height: number }>;
  drawDegradation(seed: bigint, probability: number): Record<string, unknown> & { description: string };
  /** Every error code the addon raises (native/core/errors.h). */
  errorCodes(): string[];
  /** The load-time LibTorch check as a function (tests): '' when `built` can run on `runtime`. */
  torchVersionMismatch(built: string, runtime: string, library: string): string;
  encodeTargets(data: Uint8Array, shape: number[]): { heatmap: NativeTensor; consistency: NativeTensor };
  loss(kind: 'heatmapFocal' | 'classification' | 'consistency', a: Float32Array | Float64Array, aShape: number[], b: Float32Array | Float64Array, bShape: number[]): number;
  /** The fixtures' fill rule, v = 2u − 1 (tests only). */
  fillRule(seed: bigint, t: number, shape: number[]): NativeTensor;
  NativeTrainer: { create(options: Record<string, unknown>): Promise<NativeTrainer> };
  /** SamAdam on loss = mean((x·w − y)²), float64 (tests only). */
  samStepLinear(o: { w: NativeTensor; x: NativeTensor; y: NativeTensor; rho: number; lr: number; weightDecay: number; steps: number }): Promise<NativeTensor>;
  synthesizeSbi(image: string | Uint8Array, width: number, height: number, landmarks: Float64Array, seed: bigint, options: object): Promise<unknown>;
  synthesizeBi(image: string | Uint8Array, width: number, height: number, landmarks: Float64Array, partner: string | Uint8Array, partnerWidth: number, partnerHeight: number, partnerLandmarks: Float64Array, seed: bigint, options: object): Promise<unknown>;
}

let cached: Binding | undefined;

/** The best-matching prebuild in prebuilds/<platform>-<arch>-<variant>/, by node-gyp-build's own tag rules. */
function loadVariant(variant: string): Binding {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ngb = require('node-gyp-build') as {
    parseTags(file: string): { file: string } | undefined;
    matchTags(runtime: string, abi: string): (t: unknown) => boolean;
    compareTags(runtime: string): (a: unknown, b: unknown) => number;
  };
  const dir = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}-${variant}`);
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir);
  } catch {
    throw new Error(`${dir} does not exist`);
  }
  const best = files
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags('node', process.versions.modules))
    .sort(ngb.compareTags('node'))[0];
  if (!best) throw new Error(`no addon for this platform in ${dir}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(dir, best.file)) as Binding;
}

export const packageRoot = path.resolve(__dirname, '..', '..');  // lib/binding/ -> the package

/** A prebuilt variant, as scripts/prebuild.sh records it beside the binary. */
export interface VariantRecord {
  file: string;
  libtorch: string;
  source: 'debian' | 'official' | 'python';
  cuda: boolean;
  cudaVersion: string | null;
  cxx11Abi?: boolean;
  /** The command that installs the LibTorch it needs. */
  install: string | null;
}

/** The variants in prebuilds/<platform>-<arch>/ (the default one first). */
export function prebuiltVariants(root = packageRoot): VariantRecord[] {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((f) => /^laa-native(\..+)?\.json$/.test(f)).sort();
  } catch {
    return [];
  }
  const out: VariantRecord[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as Partial<VariantRecord>;
      // Records from before variants describe the default binary.
      out.push({ file: r.file ?? 'laa-native.napi.glibc.node', libtorch: r.libtorch ?? '?', source: r.source ?? 'debian', cuda: !!r.cuda,
        cudaVersion: r.cudaVersion ?? null, cxx11Abi: r.cxx11Abi, install: r.install ?? (r.source === 'python' ? `pip install torch==${r.libtorch}` : 'apt-get install libtorch-dev') });
    } catch {
      /* an unreadable record names no variant */
    }
  }
  return out.sort((a, b) => Number(a.source === 'python') - Number(b.source === 'python'));
}

/** The torch package of python3 (or LAA_NATIVE_PYTHON): version, its lib/ folder, CUDA version ('' for CPU). */
export function pythonTorch(): { python: string; version: string; lib: string; cuda: string } | undefined {
  const python = process.env.LAA_NATIVE_PYTHON || 'python3';
  const r = spawnSync(python, ['-c', "import os, torch; print(torch.__version__.split('+')[0]); print(os.path.join(os.path.dirname(torch.__file__), 'lib')); print(torch.version.cuda or '')"], {
    encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (r.status !== 0) return undefined;
  const [version, lib, cuda] = r.stdout.trim().split('\n');
  return version && lib ? { python, version, lib, cuda: cuda ?? '' } : undefined;
}

/**
 * The variant built against a Python torch of the same major.minor (and CUDA or not): its LibTorch is loaded
 * first, by absolute path and into the global scope, so the addon's libtorch*.so needs resolve to it
 * (a prebuild cannot carry the path of the user's site-packages).
 */
function loadPythonVariant(): Binding {
  const torch = pythonTorch();
  const python = process.env.LAA_NATIVE_PYTHON || 'python3';
  const all = prebuiltVariants();
  const have = all.map((v) => `${v.file} (LibTorch ${v.libtorch}, ${v.source}${v.cuda ? `, CUDA ${v.cudaVersion}` : ''})`).join('; ') || 'none';
  const ours = all.filter((v) => v.source === 'python');
  if (!torch) {
    throw new Error(`\`${python} -c "import torch"\` fails. Variants here: ${have}. Fix: ${ours[0]?.install ?? 'pip install torch'} (for that Python, or set LAA_NATIVE_PYTHON)`);
  }
  const mm = torch.version.split('.').slice(0, 2).join('.');
  const v = ours.find((x) => x.libtorch.split('.').slice(0, 2).join('.') === mm && x.cuda === !!torch.cuda);
  if (!v)
    throw new Error(`the torch of ${python} is ${torch.version}${torch.cuda ? ` (CUDA ${torch.cuda})` : ' (CPU)'} at ${torch.lib}, and no variant here was built for it. ` +
      `Variants here: ${have}. Fix: ${ours.length ? ours.map((x) => x.install).join(' or ') : 'build from source against it (LAA_NATIVE_LIBTORCH=python npm rebuild laa-native --build-from-source)'}`);
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL;
  try {
    process.dlopen({ exports: {} }, path.join(torch.lib, 'libtorch.so'), flags);
  } catch (err) {
    // A plain library "did not self-register" (it is not an addon) but stays loaded: that is all we need.
    if (!/did not self-register/.test((err as Error).message)) throw err;
  }
  const module = { exports: {} as Binding };
  process.dlopen(module, path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, v.file), os.constants.dlopen.RTLD_NOW);
  return module.exports;
}

/** Whether a LibTorch (libtorch_cpu) is mapped into this process already (Linux; elsewhere false). */
function libtorchMapped(): boolean {
  try {
    return /libtorch_cpu\.so/.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}

export function binding(): Binding {
  if (cached) return cached;
  // FFmpeg logs every broken file to stderr ("moov atom not found"); the
  // failures reach callers as typed errors instead. Read at the first capture.
  process.env.OPENCV_FFMPEG_LOGLEVEL ??= '-8';
  const tried: string[] = [];
  const attempt = (what: string, load: () => Binding): boolean => {
    try {
      cached = load();
      return true;
    } catch (err) {
      tried.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      return false;
    }
  };
  // An explicit binary first; then node-gyp-build: build/Release (a local
  // build), then prebuilds/<platform>-<arch>/ (what the package ships).
  const override = process.env.LAA_NATIVE_BINDING;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (override && attempt(`LAA_NATIVE_BINDING=${override}`, () => require(override) as Binding)) return cached!;
  // A named variant (LAA_NATIVE_VARIANT=cuda) lives in prebuilds/<platform>-<arch>-<variant>/, a folder
  // name node-gyp-build never selects (it wants exactly <platform>-<arch>); asked for, it must load.
  const variant = process.env.LAA_NATIVE_VARIANT;
  if (variant) {
    if (attempt(`LAA_NATIVE_VARIANT=${variant}`, () => loadVariant(variant))) return cached!;
    throw new LaaError('EBINDING', `Could not load the '${variant}' variant of the laa-native addon: ${tried[tried.length - 1]}\n` +
      `Build it with LAA_NATIVE_LIBTORCH=/path/to/libtorch-${variant} npm run prebuild, or unset LAA_NATIVE_VARIANT for the CPU build.`);
  }
  // LAA_NATIVE_LIBTORCH=python: the variant for the torch of python3 (LAA_NATIVE_PYTHON), nothing else.
  if (process.env.LAA_NATIVE_LIBTORCH === 'python') {
    if (attempt('LAA_NATIVE_LIBTORCH=python', loadPythonVariant)) return cached!;
    throw new LaaError('EBINDING', `Could not load laa-native for a Python torch: ${tried[tried.length - 1]}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (attempt(`build/Release and prebuilds/${process.platform}-${process.arch}`, () => (require('node-gyp-build') as (dir: string) => Binding)(packageRoot)))
    return cached!;
  // No system LibTorch (the default variant's libtorch_cpu.so.1.13 missing), but a Python torch there may be.
  // Not when a LibTorch is already in the process (the default loaded one of another version, and refused it):
  // a second LibTorch in one process does not survive its static initialisers.
  if (!libtorchMapped() && prebuiltVariants().some((v) => v.source === 'python') && attempt('the variant for the torch of python3', loadPythonVariant))
    return cached!;
  throw new LaaError(
    'EBINDING',
    [
      'Could not load the laa-native addon.',
      'Tried:',
      ...tried.map((t) => `  - ${t}`),
      'Possible fixes:',
      '  - Install the system libraries: sudo bash node_modules/laa-native/scripts/install-system-deps.sh',
      ...prebuiltVariants().map((v) => `  - For the prebuilt ${v.file} (LibTorch ${v.libtorch}${v.cuda ? `, CUDA ${v.cudaVersion}` : ''}): ${v.install ?? 'its LibTorch'}${v.source === 'python' ? ' (then LAA_NATIVE_LIBTORCH=python, or simply without a system LibTorch)' : ''}`),
      '  - Or build the addon from a checkout: bash scripts/build-native.sh (LAA_NATIVE_LIBTORCH=/path/to/libtorch for another LibTorch)',
      '  - A "cannot open shared object file" above names the missing library.',
      '  - "built against LibTorch X but LibTorch Y was loaded": rebuild with npm rebuild laa-native --build-from-source (LAA_NATIVE_LIBTORCH=/path/to/libtorch for an official one).',
    ].join('\n'),
  );
}
