#!/usr/bin/env node
// npm run bench:libtorch: the same network on two LibTorch builds side by side. Fresh processes
// alternate between Debian's LibTorch 1.13 (build/Release) and the PyPI torch build that
// scripts/test-libtorch.sh python makes (build-torch211/Release), each loading the same file and
// timing batch-1 forwards (bench/process.mjs). Prints the medians of the steady-state medians.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { referenceWeightsFile } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const { LaaNet, versions } = require(path.join(root, 'lib'));
const threads = Number(process.env.BENCH_THREADS ?? os.availableParallelism());
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const builds = [
  ['LibTorch 1.13.1 (Debian)', path.join(root, 'build', 'Release', 'laa_native.node')],
  ['LibTorch 2.11.0 (PyPI torch)', path.join(root, 'build-torch211', 'Release', 'laa_native.node')],
].filter(([name, file]) => fs.existsSync(file) || console.log(`${name}: no ${file}, skipped`));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

const v = versions();
console.log(`laa-native bench:libtorch: ${v.cpu.brand || os.cpus()[0].model}, ${os.cpus().length} cores, ${threads} threads; CPU ${v.cpu.flags}`);
for (const [label, backbone, size, dtype] of [['B4 384 fp32', 'efficientnet-b4', 384, 'float32'], ['Lite0 256 fp32', 'efficientnet-lite0', 256, 'float32'], ['Lite0 256 bf16', 'efficientnet-lite0', 256, 'bfloat16']]) {
  if (dtype === 'bfloat16' && !v.cpu.nativeBf16) continue;
  const file = await referenceWeightsFile(LaaNet, backbone, size);
  const runs = builds.map(() => []);
  for (let r = 0; r < rounds; r++)
    builds.forEach(([, binding], i) => {
      const p = spawnSync(process.execPath, [path.join(here, 'process.mjs'), file, String(size), String(threads), dtype], { encoding: 'utf8', env: { ...process.env, LAA_NATIVE_BINDING: binding } });
      if (p.status !== 0) throw new Error(`${binding}: ${p.stderr}`);
      runs[i].push(JSON.parse(p.stdout.trim().split('\n').pop()));
    });
  const base = median(runs[0].map((x) => x.steady));
  console.log(`\n${label}, batch 1, cls path, ${rounds} fresh processes per build (alternating)`);
  builds.forEach(([name], i) => {
    const s = runs[i].map((x) => x.steady);
    console.log(`  ${name.padEnd(30)} steady ${median(s).toFixed(1)} ms (${s.map((x) => x.toFixed(1)).join(' ')}), ` +
      `first call ${median(runs[i].map((x) => x.first)).toFixed(1)} ms, load ${median(runs[i].map((x) => x.load)).toFixed(0)} ms; ${(median(s) / base).toFixed(2)}x the first`);
  });
}
