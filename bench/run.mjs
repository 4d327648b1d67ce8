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
const { readFixtureInput, referenceWeightsFile } = await import('./fixture.mjs');
const { describe, interleaved, sequential, windows } = await import('./spread.mjs');

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

function randomInput(n, size = SIZE) {
  const data = new Float32Array(n * 3 * size * size);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return { data, shape: [n, 3, size, size] };
}

async function timeForward(net, n, heads, size = SIZE) {
  const x = randomInput(n, size);
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
const cpu = v.cpu;
console.log(`laa-native bench: ${cpu.brand || os.cpus()[0].model}, ${os.cpus().length} cores, ${threads} threads, LibTorch ${v.libtorchRuntime || v.libtorch}, Node ${v.node}`);
console.log(`CPU: ${cpu.flags}; oneDNN ISA ${cpu.onednnIsa || 'unknown'}, ATen ${cpu.atenCapability || 'unknown'}; bfloat16 ${cpu.nativeBf16 ? 'native' : 'not native (bfloat16 requests run float32)'}`);

const rows = [];
const yard = yardstick();
const f32 = await LaaNet.reference(undefined, { dtype: 'float32', threads });
const bf16 = await LaaNet.reference(undefined, { dtype: 'bfloat16', threads });
// Asked for bfloat16 where it is not native, the model runs float32 (and says so): the column shows what a user gets.
const bfLabel = bf16.info.dtype === 'bfloat16' ? 'cls path bf16' : 'cls path "bf16" (runs fp32: not native here)';
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
console.log(`batch | yardstick | cls path fp32 | full fp32 | ${bfLabel}`);
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

// The Lite0 network (the bundled model's) at its 256² input, next to B4 at 384² above.
const LITE = 256;
const lite = { f32: await LaaNet.reference(undefined, { dtype: 'float32', threads, backbone: 'efficientnet-lite0' }) };
if (cpu.nativeBf16) lite.bf16 = await LaaNet.reference(undefined, { dtype: 'bfloat16', threads, backbone: 'efficientnet-lite0' });
const liteRows = [];
for (const n of batches) {
  const row = { batch: n, cls: await timeForward(lite.f32, n, ['cls'], LITE), full: await timeForward(lite.f32, n, ['cls', 'hm', 'cstency'], LITE) };
  if (lite.bf16) row.bf16cls = await timeForward(lite.bf16, n, ['cls'], LITE);
  liteRows.push(row);
}
console.log(`\nEfficientNet-Lite0 LAA-Net (the bundled model's network), ms per ${LITE}x${LITE} frame (median); ratio to B4's cls path at 384 above`);
console.log('batch | cls path fp32 | full fp32 | cls path bf16');
for (const r of liteRows) {
  const b4 = rows.find((x) => x.batch === r.batch).cls;
  console.log(`${String(r.batch).padStart(5)} | ${`${r.cls.toFixed(1)} (${(r.cls / b4).toFixed(2)}x)`.padStart(13)} | ${r.full.toFixed(1).padStart(9)} | ${r.bf16cls ? r.bf16cls.toFixed(1) : 'n/a (not native)'}`);
}
for (const m of Object.values(lite)) m.dispose();

// One speed per process: 10 fresh processes load the same file and time batch-1 forwards, taking turns (the
// processes' own differences) and one after the other (what a user sees, the host's swings included); for
// comparison one process does the same 10 times over (the host's swings alone). bench/spread.mjs.
const spread = {};
for (const [name, backbone, size] of [['B4 384', 'efficientnet-b4', 384], ['Lite0 256', 'efficientnet-lite0', 256]]) {
  const file = await referenceWeightsFile(LaaNet, backbone, size);
  spread[name] = { interleaved: await interleaved(file, size, { threads }), sequential: sequential(file, size, { threads }),
    oneProcess: windows(file, size, { threads }) };
  console.log(`\n${name}, 10 fresh processes (batch 1, cls path fp32)`);
  console.log(`  ${describe('taking turns', spread[name].interleaved)}`);
  console.log(`  ${describe('one after the other', spread[name].sequential)}`);
  console.log(`  ${describe('one process, 10 windows of 25 calls', spread[name].oneProcess, { first: false })}`);
}

// Peak memory of a fresh process that loads the model and runs a batch of 8.
const mem = spawnSync(process.execPath, [path.join(here, 'memory.mjs'), String(threads)], { encoding: 'utf8' });
console.log(mem.stdout.trim() || mem.stderr.trim());
console.log(`\nJSON ${JSON.stringify({ threads, cpu, rows, liteRows, spread, bf16Deviation: Math.abs(p(a) - p(b)) })}`);
