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

/** The bundled model (in git, float16). */
export const bundledModel = path.join(repoRoot, 'models', 'laa-native-lite0-sbi-256.safetensors');
