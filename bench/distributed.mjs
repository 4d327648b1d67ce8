// Data-parallel training on this machine (issue 16), side by side in one run:
// images/s of one process with all cores against N processes (ranks) splitting
// the cores, each SAM step's all-reduced bytes, with and without syncBatchNorm;
// and the per-step volume of the B4 network for the on-paper NCCL estimate
// (bench/RESULTS.md). The global batch is the same in every row.
// Usage: npm run bench:distributed [-- --size 256 --batch 8 --steps 10 --nproc 2 --backbone efficientnet-lite0]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preparedClip } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv;
const arg = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const size = Number(arg('size', 256));
const items = Number(arg('batch', 8));
const steps = Number(arg('steps', 10));
const nproc = Number(arg('nproc', 2));
const backbone = arg('backbone', 'efficientnet-lite0');
const warmup = 2;
const tmp = path.join(root, 'bench', '.tmp', 'distributed');
const lib = path.join(root, 'lib', 'index.js');

if (argv.includes('--child')) {
  // One rank (or the single process): times `steps` steps after `warmup`.
  const { Trainer } = await import(lib);
  const o = JSON.parse(arg('child'));
  fs.rmSync(o.outDir, { recursive: true, force: true });
  const t = await Trainer.create(o);
  const ms = [];
  const bytes = [];
  let last = Date.now();
  let n = 0;
  for await (const e of t.run()) {
    if (e.type !== 'step') continue;
    const now = Date.now();
    if (n++ >= warmup) ms.push(now - last), bytes.push(e.bytesReduced);
    last = now;
    if (n >= warmup + steps) break;
  }
  const info = { rank: t.rank, ms, bytes };
  t.dispose();
  process.stdout.write(JSON.stringify(info) + '\n');
  process.exit(0);
}

const { prepare, versions, freePort, Trainer } = await import(lib);
const data = await preparedClip(prepare, tmp);
const cores = os.availableParallelism();
const stepsPerEpoch = Math.floor(16 / items);
const options = (extra) => ({
  data, inputSize: size, batchSize: items, framesPerVideo: 16, epochs: Math.ceil((warmup + steps) / stepsPerEpoch) + 1, freezeEpochs: 0,
  backbone, init: { backbone: 'imagenet' }, lr: 1e-4, seed: 317, ...extra,
});

function child(opts, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(opts)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`child exited ${code}`))));
  });
}

async function row(label, rho, world, syncBatchNorm) {
  const outDir = path.join(tmp, `out-${label.replace(/\W+/g, '-')}`);
  let runs;
  if (world === 1) runs = [await child(options({ outDir, rho, threads: cores }), { WORLD_SIZE: '' })];
  else {
    const port = await freePort();
    runs = await Promise.all(
      Array.from({ length: world }, (_, rank) =>
        child(options({ outDir, rho, threads: Math.max(1, Math.floor(cores / world)), distributed: { syncBatchNorm } }), {
          RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
        }),
      ),
    );
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const stepMs = med(runs[0].ms);
  const images = 2 * items;
  return { label, world, stepMs, imagesPerSec: (images * 1000) / stepMs, mbPerStep: med(runs[0].bytes) / 1e6 };
}

const v = versions();
const cpu = v.cpu ?? {};
console.log(`laa-native bench:distributed — ${backbone} ${size}², global batch ${items} SBI items (${2 * items} images), ${steps} timed steps after ${warmup}`);
console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${cores} cores; CPU features: ${JSON.stringify(cpu)}; LibTorch ${v.libtorch}`);
const rows = [];
for (const [rho, name] of [[0.05, 'SAM'], [0, 'Adam']]) {
  rows.push(await row(`${name}, 1 process × ${cores} threads`, rho, 1, false));
  rows.push(await row(`${name}, ${nproc} processes × ${Math.max(1, Math.floor(cores / nproc))} thread(s)`, rho, nproc, false));
  if (rho > 0) rows.push(await row(`${name}, ${nproc} processes, syncBatchNorm`, rho, nproc, true));
}
console.log('| run | step (ms, median) | images/s | vs 1 process | all-reduced per step (MB) |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const base = rows.find((x) => x.world === 1 && x.label.split(',')[0] === r.label.split(',')[0]);
  console.log(`| ${r.label} | ${r.stepMs.toFixed(0)} | ${r.imagesPerSec.toFixed(2)} | ${(r.imagesPerSec / base.imagesPerSec).toFixed(2)}× | ${r.mbPerStep.toFixed(1)} |`);
}
// The B4 network's gradient volume, for the on-paper estimate (parameters × 4 bytes per all-reduce).
for (const bb of ['efficientnet-b4', backbone]) {
  const t = await Trainer.create({ ...options({ outDir: path.join(tmp, 'count'), threads: 1 }), backbone: bb, init: undefined });
  console.log(`${bb}: ${t.parameterCount} parameters (${((t.parameterCount * 4) / 1e6).toFixed(1)} MB of float32 gradients per all-reduce)`);
  t.dispose();
}
