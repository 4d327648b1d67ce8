#!/usr/bin/env node
// npm run bench:score — scoreVideo on a 720p clip (32 frames) with the B4 network and with the bundled
// Lite0 model: the split of decode / detect / crop / infer next to the network alone on the same 32
// faces with their flips, and the CLI's throughput (bundled model) on a folder of 10 clips.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { Detector, LaaNet } = require(path.join(root, 'lib'));
const shared = process.env.LAA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const clips = path.join(shared, 'data', 'videos', 'real-talking-heads');
const clip720 = path.join(clips, 'liveportrait_driving_d13.mp4'); // 720×1280, 352 frames
const threads = os.availableParallelism();

// The official B4 network at 384² (fill-rule weights: the speed is the same as trained ones) and the
// bundled Lite0 model at 256² with its default dtype ('auto'), one after the other on the same clip.
for (const [label, load, size] of [
  ['EfficientNet-B4 LAA-Net, 384², float32', () => LaaNet.reference(undefined, { threads }), 384],
  ['bundled model (Lite0, 256², dtype auto)', () => LaaNet.load(path.join(root, 'models', 'laa-native-lite0-sbi-256.safetensors'), { threads }), 256],
]) {
  const net = await load();
  const detector = await Detector.create({ weights: net });
  await detector.scoreVideo(clip720, { frames: 2 }); // warm-up
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await detector.scoreVideo(clip720, { frames: 32 }));
  runs.sort((a, b) => a.timings.totalMs - b.timings.totalMs);
  const r = runs[1]; // the median of three
  const t = r.timings;
  const pre = t.decodeMs + t.detectMs + t.cropMs;
  console.log(`${label} (${net.info.dtype}): scoreVideo, ${r.media.width}x${r.media.height}, 32 frames, ${r.facesFound} faces, ${threads} threads, median of 3`);
  console.log(`  total ${t.totalMs.toFixed(0)} ms (runs ${runs.map((x) => x.timings.totalMs.toFixed(0)).join(', ')}) = decode ${t.decodeMs.toFixed(0)} + detect ${t.detectMs.toFixed(0)} + crop ${t.cropMs.toFixed(0)} + infer ${t.inferMs.toFixed(0)} (+ ${(t.totalMs - pre - t.inferMs).toFixed(0)} other)`);
  console.log(`  decode + detect + crop = ${((100 * pre) / t.totalMs).toFixed(1)} % of the total`);
  // The network alone on 32 faces and their flips, in the same batches of 8 (+8 flips).
  const x = { data: new Float32Array(16 * 3 * size * size).fill(0.1), shape: [16, 3, size, size] };
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) await net.forward(x, { heads: ['cls'] });
  const netMs = performance.now() - t0;
  console.log(`  network alone, 32 faces + flips: ${netMs.toFixed(0)} ms -> scoreVideo / network = ${(t.totalMs / netMs).toFixed(2)}x\n`);
  detector.dispose();
  net.dispose();
}

// The CLI on 10 clips, model loaded once.
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'laa-bench-'));
const names = fs.readdirSync(clips).filter((f) => f.endsWith('.mp4')).sort().slice(0, 10);
for (const n of names) fs.copyFileSync(path.join(clips, n), path.join(folder, n));
const c0 = performance.now();
const cli = spawnSync(process.execPath, [path.join(root, 'lib/cli/main.js'), 'score', folder, '--json'], { encoding: 'utf8' });
const cliMs = performance.now() - c0;
const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l));
console.log(`\nlaa-native score on ${names.length} clips (32 frames each): ${(cliMs / 1000).toFixed(1)} s, ${(cliMs / 1000 / names.length).toFixed(1)} s/clip, ${lines.filter((l) => l.ok).length} scored`);
fs.rmSync(folder, { recursive: true, force: true });
