#!/usr/bin/env node
// npm run bench: the network's speed next to torchvision's EfficientNet-B4
// (the yardstick), measured in this one run on this machine, plus bf16
// deviation and peak memory. Needs the built addon and python3-torchvision.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { LaaNet, versions } = require(path.join(root, 'lib'));
const { readFixtureInput } = await import('./fixture.mjs');

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const threads = Number(flag('threads', os.availableParallelism()));
const iters = Number(flag('iters', 7));
const batches = flag('batches', '1,8').split(',').map(Number);
const SIZE = 384;

function yardstick(dtype = 'float32') {
  const out = execFileSync('/usr/bin/python3', [path.join(here, 'yardstick.py'), '--threads', String(threads), '--batches', batches.join(','),
    '--iters', String(iters), '--warmup', '2', '--dtype', dtype], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  return Object.fromEntries(r.results.map((x) => [x.batch, x.msPerFrame]));
}

function randomInput(n) {
  const data = new Float32Array(n * 3 * SIZE * SIZE);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return { data, shape: [n, 3, SIZE, SIZE] };
}

async function timeForward(net, n, heads) {
  const x = randomInput(n);
  await net.forward(x, { heads }); // warm-up (allocator, oneDNN primitives)
  const t = [];
  for (let i = 0; i < Math.max(2, Math.ceil(iters / n)); i++) {
    const t0 = performance.now();
    await net.forward(x, { heads });
    t.push((performance.now() - t0) / n);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

const v = versions();
console.log(`laa-native bench: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${threads} threads, LibTorch ${v.libtorch}, Node ${v.node}`);

const rows = [];
const yard = yardstick();
const f32 = await LaaNet.reference(undefined, { dtype: 'float32', threads });
const bf16 = await LaaNet.reference(undefined, { dtype: 'bfloat16', threads });
for (const n of batches) {
  const y = yard[n];
  const cls = await timeForward(f32, n, ['cls']);
  const full = await timeForward(f32, n, ['cls', 'hm', 'cstency']);
  const bcls = await timeForward(bf16, n, ['cls']);
  rows.push({ batch: n, yardstick: y, cls, full, bf16cls: bcls });
}
// A second yardstick pass: report the faster of the two, so drift favours the yardstick.
const yard2 = yardstick();
for (const r of rows) r.yardstick = Math.min(r.yardstick, yard2[r.batch]);

console.log('\nms per 384x384 frame (median) and ratio to the yardstick (torchvision EfficientNet-B4, fp32, channels_last, inference_mode)');
console.log('batch | yardstick | cls path fp32 | full fp32 | cls path bf16');
for (const r of rows) {
  const f = (ms) => `${ms.toFixed(1)} (${(ms / r.yardstick).toFixed(2)}x)`;
  console.log(`${String(r.batch).padStart(5)} | ${r.yardstick.toFixed(1).padStart(9)} | ${f(r.cls).padStart(13)} | ${f(r.full).padStart(9)} | ${f(r.bf16cls)}`);
}

// bf16 against fp32 on the fixture's real-face item (fill-rule weights).
const face = readFixtureInput(0);
const p = (o) => 1 / (1 + Math.exp(-o.cls.data[0]));
const [a, b] = [await f32.forward(face, { heads: ['cls'] }), await bf16.forward(face, { heads: ['cls'] })];
console.log(`\nbf16 vs fp32 on the fixture's real face: P(fake) ${p(b).toFixed(5)} vs ${p(a).toFixed(5)}, |diff| ${Math.abs(p(a) - p(b)).toExponential(2)}`);
f32.dispose();
bf16.dispose();

// Peak memory of a fresh process that loads the model and runs a batch of 8.
const mem = spawnSync(process.execPath, [path.join(here, 'memory.mjs'), String(threads)], { encoding: 'utf8' });
console.log(mem.stdout.trim() || mem.stderr.trim());
console.log(`\nJSON ${JSON.stringify({ threads, rows, bf16Deviation: Math.abs(p(a) - p(b)) })}`);
