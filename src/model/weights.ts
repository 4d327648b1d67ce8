import { callNative, checkPath } from '../binding/errors';
import { binding, type NativeWeightsFile } from '../binding/native';

export type WeightsFile = NativeWeightsFile;

/**
 * Reads the tensors of a `.safetensors` file or an official `.pth` checkpoint
 * without building a model (a leading `module.` is stripped from `.pth` keys).
 * Checkpoints are parsed by a restricted unpickler: nothing in the file runs.
 */
export async function readWeights(path: string): Promise<WeightsFile> {
  checkPath('path', path);
  return callNative(() => binding().readWeights(path));
}
