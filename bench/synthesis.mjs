#!/usr/bin/env node
// Training-sample synthesis speed (issue #4): one SBI pair = synthesis (spec
// datasets/sbi/utils.py) + geometry/colour augmentation + the final warps + encodeTargets for
// the real and the fake boundary, made one at a time (one worker thread;
// run under `taskset -c 0` to pin the whole process to one core). Also BI.
// Inputs are the 256×256 fixture crops, decoded once (pixels passed in), as a
// loader that caches decoded frames would; `--from-file` decodes the PNG per sample.
// Rates are given from wall time and from the process's CPU time (user +
// system, all threads): on a shared machine the CPU figure is the one that
// says what one core delivers.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPngRgb } from '../test/support/png.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { synthesizeSbi, synthesizeBi, encodeTargets } = require(path.join(root, 'lib'));

const n = Number(process.env.N ?? 300);
const fromFile = process.argv.includes('--from-file');
const faces = path.join(root, 'test', 'fixtures', 'faces');
const load = (name) => ({
  image: fromFile ? path.join(faces, `${name}-256.png`) : readPngRgb(path.join(faces, `${name}-256.png`)),
  landmarks: JSON.parse(fs.readFileSync(path.join(faces, `${name}-256.json`), 'utf8')).landmarks,
});
const obama = load('obama');
const biden = load('biden');

async function rate(label, sizes, make) {
  for (let i = 0; i < 10; i++) await make(1_000_000 + i); // warm-up
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await make(i);
  const ms = (performance.now() - t0) / n;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000 / n; // all threads: JS main thread + the worker
  console.log(
    `${label.padEnd(34)} ${sizes.padEnd(8)} wall ${ms.toFixed(2).padStart(6)} ms = ${(1000 / ms).toFixed(1).padStart(5)}/s` +
      `   CPU ${cpuMs.toFixed(2).padStart(6)} ms = ${(1000 / cpuMs).toFixed(1).padStart(5)}/s`,
  );
  return cpuMs;
}

const cpus = os.cpus();
console.log(`synthesis bench: ${n} samples each, ${cpus.length} visible cores (${cpus[0]?.model ?? '?'}), input ${fromFile ? 'PNG file per sample' : 'decoded pixels'}`);
for (const [inputSize, targetSize] of [[384, 96], [256, 64]]) {
  const sizes = `${inputSize}/${targetSize}`;
  const sbi = async (seed, train) => {
    const r = await synthesizeSbi({ ...obama, seed, train, inputSize, targetSize });
    if (targetSize === 96) {
      encodeTargets({ data: r.boundaryFake.data, shape: [96, 96] });
      encodeTargets({ data: r.boundaryReal.data, shape: [96, 96] });
    }
  };
  const ms = await rate('SBI pair, train (+ targets at 96)', sizes, (s) => sbi(s, true));
  console.log(`${''.padEnd(43)} one pair = 2 images: ${(2000 / ms).toFixed(1)} images/s on one core (CPU)`);
  await rate('SBI pair, no augmentation', sizes, (s) => sbi(s, false));
  await rate('BI sample, train (p 0.5 fake)', sizes, (s) => synthesizeBi({ ...biden, partner: obama, seed: s, inputSize, targetSize }));
}
