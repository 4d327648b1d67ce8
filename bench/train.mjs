// Training speed and memory (issue #4), measured side by side in one run:
//   - one SAM step (two forward/backward passes of LAA-Net) on a batch of 16
//     images at 384² float32, per image, against one forward+backward of
//     torchvision's EfficientNet-B4 per image (the yardstick); goal < 2.5×;
//   - the same SAM step with bfloat16 autocast (precision: 'bfloat16');
//   - a plain Adam step (rho: 0, one forward/backward pass) in float32;
//   - peak resident memory of the training process (each precision in its own process);
//   - the SBI synthesis rate (bench/synthesis.mjs, one core).
// Usage: npm run bench:train [-- --size 384 --batch 8 --threads 2]
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preparedClip } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const size = arg('size', 384);
const items = arg('batch', 8); // SBI items: 2 images each
const threads = arg('threads', 2);
const steps = arg('steps', 2);
const precisionArg = process.argv.indexOf('--precision');
const precision = precisionArg > 0 ? process.argv[precisionArg + 1] : 'float32';
const rho = arg('rho', 0.05);
const tmp = path.join(root, 'bench', '.tmp', 'train');

if (process.argv.includes('--child')) {
  const { Trainer, prepare } = await import(path.join(root, 'lib', 'index.js'));
  const data = await preparedClip(prepare, tmp);
  fs.rmSync(path.join(tmp, 'out'), { recursive: true, force: true });
  const t = await Trainer.create({ data, outDir: path.join(tmp, 'out'), inputSize: size, batchSize: items, framesPerVideo: 16, epochs: 1, freezeEpochs: 0, threads, precision, rho });
  const batch = await t.makeBatch(0, 0);
  await t.trainOnBatch(batch); // warm-up: oneDNN primitives, allocator
  const ms = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await t.trainOnBatch(batch);
    ms.push(performance.now() - t0);
  }
  t.dispose();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ msPerStep: ms[Math.floor(ms.length / 2)], images: batch.labels.shape[0], peakRssMB: Number(hwm) / 1024 }));
  process.exit(0);
}

function child(p, rhoValue = 0.05) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '--size', String(size), '--batch', String(items), '--threads', String(threads), '--steps', String(steps), '--precision', p, '--rho', String(rhoValue)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}
function yardstick() {
  return JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'train_yardstick.py'), '--threads', String(threads), '--batch', String(2 * items), '--size', String(size)], { encoding: 'utf8' }));
}

const y1 = yardstick();
const sam = child('float32');
const bf16 = child('bfloat16');
const adam = child('float32', 0);
const y2 = yardstick();
const yard = Math.min(y1.msPerImage, y2.msPerImage); // drift favours the yardstick
const perImage = sam.msPerStep / sam.images;
console.log(`training at ${size}², batch ${sam.images} images, ${threads} threads, float32`);
console.log(`  yardstick (torchvision B4 fwd+bwd):   ${yard.toFixed(0)} ms/image  (runs: ${y1.msPerImage.toFixed(0)}, ${y2.msPerImage.toFixed(0)})`);
console.log(`  laa-native SAM step (2× fwd+bwd):      ${perImage.toFixed(0)} ms/image  (${(sam.msPerStep / 1000).toFixed(1)} s/step)`);
console.log(`  ratio SAM step / yardstick:            ${(perImage / yard).toFixed(2)}×  (goal < 2.5×)`);
console.log(`  peak RSS of the training process:      ${(sam.peakRssMB / 1024).toFixed(2)} GB  (goal < 12 GB)`);
const bfImage = bf16.msPerStep / bf16.images;
console.log(`with precision: 'bfloat16' (autocast; not the official float32 recipe)`);
console.log(`  laa-native SAM step (2× fwd+bwd):      ${bfImage.toFixed(0)} ms/image  (${(bf16.msPerStep / 1000).toFixed(1)} s/step), ${(perImage / bfImage).toFixed(2)}× faster than float32`);
console.log(`  ratio SAM step / yardstick (float32):  ${(bfImage / yard).toFixed(2)}×`);
console.log(`  peak RSS of the training process:      ${(bf16.peakRssMB / 1024).toFixed(2)} GB`);
const adamImage = adam.msPerStep / adam.images;
console.log(`with rho: 0 (plain Adam, no SAM; not the official recipe), float32`);
console.log(`  laa-native Adam step (1× fwd+bwd):     ${adamImage.toFixed(0)} ms/image  (${(adam.msPerStep / 1000).toFixed(1)} s/step), ${(perImage / adamImage).toFixed(2)}× faster than the SAM step`);
console.log(`  ratio Adam step / yardstick:           ${(adamImage / yard).toFixed(2)}×`);
const synth = spawnSync(process.execPath, [path.join(here, 'synthesis.mjs')], { encoding: 'utf8', env: { ...process.env, N: '100' } });
console.log('\nSBI synthesis (bench/synthesis.mjs):\n' + synth.stdout.trim());
