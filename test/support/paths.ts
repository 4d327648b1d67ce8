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

/**
 * The small training set of the training tests, made fresh in `dir` (wiped first): a talking-head clip and a
 * photo, 4 frames each at most, prepared into `dir/prepared`. Returns the prepared folder and the frame count.
 */
export async function prepareTrainingSet(dir: string): Promise<{ data: string; frames: number }> {
  const { prepare } = await import('../../src');
  const media = path.join(repoRoot, 'test', 'fixtures', 'media');
  fs.rmSync(dir, { recursive: true, force: true });
  const input = path.join(dir, 'videos');
  fs.mkdirSync(input, { recursive: true });
  fs.copyFileSync(path.join(media, 'talking-head-2.mp4'), path.join(input, 'talking-head-2.mp4'));
  fs.copyFileSync(path.join(media, 'obama-720p.jpg'), path.join(input, 'obama-720p.jpg'));
  const data = path.join(dir, 'prepared');
  const r = await prepare({ input, output: data, framesPerVideo: 4 });
  return { data, frames: r.frames };
}
