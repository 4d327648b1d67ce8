/**
 * The model that ships with the package (models/, see models/README.md):
 * `Detector.create()`, `laa-native score` and `laa-native eval` use it when
 * no weights are given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LaaError } from '../binding/errors';
import { LaaNet, type DTypeOption } from './laanet';
import { packageRoot } from '../binding/native';

/** File name of the bundled model inside the package's `models/` folder. */
export const DEFAULT_MODEL_NAME = 'laa-native-lite0-sbi-256';

/** What a user of the bundled model must know (printed by the CLI, shown in reports). */
export const DEFAULT_MODEL_CAVEAT =
  'LAA-Net on EfficientNet-Lite0, trained here on self-blended real faces: it ranks deepfakes above real videos ' +
  'better than chance (dev-eval video AUC 0.78 over 22 videos) but is not calibrated for them: real deepfakes mostly ' +
  'score well under 0.5, so compare scores and do not trust the real/fake label (models/README.md)';

function bundledFile(): string {
  return path.join(packageRoot, 'models', `${DEFAULT_MODEL_NAME}.safetensors`);
}

/** Absolute path of the bundled weights (safetensors). */
export function defaultModelPath(): string {
  const file = bundledFile();
  if (!fs.existsSync(file))
    throw new LaaError(
      'ENOENT',
      `the bundled model ${file} is missing: it ships with laa-native (and in git: models/). ` +
        'Reinstall laa-native (in a checkout: git checkout -- models/), or pass weights explicitly',
    );
  return file;
}

/** --weights: a file, `untrained` (the fixture fill rule, for tests), or by default the bundled model. */
export async function loadWeights(weights: string | undefined, threads?: number, dtype: DTypeOption = 'auto'): Promise<LaaNet> {
  if (weights === 'untrained') {
    process.stderr.write('laa-native: using UNTRAINED fill-rule weights (fixture seed 20261125): scores are meaningless.\n');
    return LaaNet.reference(undefined, { threads, dtype });
  }
  const net = await LaaNet.load(weights ?? defaultModelPath(), { threads, dtype });
  const name = net.info.metadata.model_name ?? path.basename(net.info.source);
  process.stderr.write(`laa-native: model ${name}${name === DEFAULT_MODEL_NAME ? ` (bundled: ${DEFAULT_MODEL_CAVEAT})` : ''}\n`);
  return net;
}
