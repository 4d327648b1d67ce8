// Reads one item of the parity fixture's input (item 0 is a real face crop).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.LAA_SHARED_DIR ?? path.resolve(root, '..', 'shared');

export function readFixtureInput(item) {
  const buf = fs.readFileSync(path.join(shared, 'fixtures', 'parity', 'reference-a.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  const meta = JSON.parse(buf.subarray(8, 8 + n).toString()).input;
  const [, c, h, w] = meta.shape;
  const per = c * h * w * 4;
  const start = 8 + n + meta.data_offsets[0] + item * per;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + per));
  return { data, shape: [1, c, h, w] };
}

// The fill-rule network of `backbone` saved as a weights file (input_size recorded) for fresh processes to load
// (bench/process.mjs); `LaaNet` is the caller's, so the file is written by the build under test.
export async function referenceWeightsFile(LaaNet, backbone, size) {
  const file = path.join(root, 'bench', '.tmp', `${backbone}.safetensors`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const m = await LaaNet.reference(undefined, { backbone });
  await m.save(file, { metadata: { input_size: String(size) } });
  m.dispose();
  return file;
}

// The training benchmarks' data: 16 prepared frames of the test clip in `dir`/prepared (made once; `prepare` is
// the caller's, from the build under test).
export async function preparedClip(prepare, dir) {
  const data = path.join(dir, 'prepared');
  if (!fs.existsSync(path.join(data, 'index.jsonl'))) {
    const input = path.join(dir, 'videos');
    fs.mkdirSync(input, { recursive: true });
    fs.copyFileSync(path.join(root, 'test/fixtures/media/talking-head-2.mp4'), path.join(input, 'clip.mp4'));
    await prepare({ input, output: data, framesPerVideo: 16 });
  }
  return data;
}
