import * as path from 'node:path';
import * as fs from 'node:fs';

export const repoRoot = path.resolve(__dirname, '..', '..');
/** The team's shared ground truth sits beside the repository (CI copies it there too). */
export const sharedDir = process.env.LAA_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
export const fixturesDir = path.join(sharedDir, 'fixtures');

export function tmpDir(name: string): string {
  const dir = path.join(repoRoot, 'test', '.tmp', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The bundled model: a release artifact outside git (scripts/fetch-model.sh puts it in place). */
export const bundledModel = path.join(repoRoot, 'models', 'laa-native-sbi-192.safetensors');
export const hasBundledModel = fs.existsSync(bundledModel);
/** Said in the names of the tests that need the artifact, so a skip states its reason. */
export const needsBundledModel = hasBundledModel ? '' : ' [skipped: no models/laa-native-sbi-192.safetensors; it is a release artifact outside git, see scripts/fetch-model.sh]';
