/**
 * Loads the compiled addon: a matching prebuild in `prebuilds/<platform>-<arch>/`
 * or a local build in `build/Release/`, and explains what to do when neither loads.
 */
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
}

export interface NativeLaaNetInfo {
  dtype: string;
  device: string;
  source: string;
  parameters: number;
  metadata: Record<string, string>;
}

export interface NativeLaaNet {
  forward(
    data: Float32Array | Float64Array,
    shape: number[],
    heads: { hm: boolean; cls: boolean; cstency: boolean },
    intermediates: boolean,
  ): Promise<Record<string, NativeTensor> & { features?: Record<string, NativeTensor> }>;
  save(path: string, dtype?: string): Promise<void>;
  info(): NativeLaaNetInfo;
  dispose(): void;
}

export interface NativeVersions {
  libtorch: string;
  libtorchRuntime: string;
  opencv: string;
  dlib: string;
  cuda: boolean;
  cudaDevices: number;
  mkldnn: boolean;
  threads: number;
  parallel: string;
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
      person: number;
      heatmap?: Float32Array;
      crop?: Uint8Array;
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
    options: { frames: number; heatmaps: boolean; batch: number; detectMaxSide: number; allFaces: boolean; landmarks: string },
    onProgress: ((stage: number, done: number, total: number) => void) | undefined,
    abort: NativeAbortFlag,
  ): Promise<NativeMediaScore>;
  dispose(): void;
}

export interface Binding {
  NativeDetector: new (model: NativeLaaNet) => NativeDetector;
  AbortFlag: new () => NativeAbortFlag;
  readWeights(path: string): Promise<NativeWeightsFile>;
  writeHeatmapOverlay(file: string, crop: Uint8Array, cropShape: number[], heat: Float32Array, heatShape: number[]): Promise<void>;
  NativeLaaNet: {
    load(path: string, options: NativeModelOptions): Promise<NativeLaaNet>;
    reference(seed: bigint, options: NativeModelOptions): Promise<NativeLaaNet>;
  };
  versions(): NativeVersions;
}

let cached: Binding | undefined;

export const packageRoot = path.resolve(__dirname, '..');

export function binding(): Binding {
  if (cached) return cached;
  // FFmpeg logs every broken file to stderr ("moov atom not found"); the
  // failures reach callers as typed errors instead. Read at the first capture.
  process.env.OPENCV_FFMPEG_LOGLEVEL ??= '-8';
  const tried: string[] = [];
  const candidates = [
    process.env.LAA_NATIVE_BINDING,
    path.join(packageRoot, 'build', 'Release', 'laa_native.node'),
  ].filter((p): p is string => !!p);
  // node-gyp-build looks in prebuilds/<platform>-<arch>/ first, then build/.
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => Binding;
    cached = load(packageRoot);
    return cached;
  } catch (err) {
    tried.push(`prebuilds/${process.platform}-${process.arch} and build/: ${(err as Error).message.split('\n')[0]}`);
  }
  for (const file of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(file) as Binding;
      return cached;
    } catch (err) {
      tried.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new LaaError(
    'EBINDING',
    [
      'Could not load the laa-native addon.',
      'Tried:',
      ...tried.map((t) => `  - ${t}`),
      'Possible fixes:',
      '  - Install the system libraries: sudo bash node_modules/laa-native/scripts/install-system-deps.sh',
      '  - Or point LAA_NATIVE_LIBTORCH at a LibTorch distribution and rebuild: npm rebuild laa-native --build-from-source',
      '  - A "cannot open shared object file" above names the missing library.',
    ].join('\n'),
  );
}
