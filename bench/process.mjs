// Child process of the speed benchmarks: one fresh process loads a weights file
// and times forwards at batch 1 (classification path).
// - default: prints JSON: load time, the first call after load, and the median
//   of the last 15 of 25 calls;
// - `--serve` (bench/spread.mjs): after loading and one call, answers
//   { calls: k } messages with the times of k more calls;
// - `--windows N`: N times what one default run does, in this one process
//   (the host's own swings, with no new process in between).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LaaNet } = require(path.join(root, 'lib'));
const [file, size, threads, dtype] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5] ?? 'float32'];
const serve = process.argv.includes('--serve');
const w = process.argv.indexOf('--windows');
const windows = w > 0 ? Number(process.argv[w + 1]) : 1;

const t0 = performance.now();
const net = await LaaNet.load(file, { threads, dtype });
const load = performance.now() - t0;
const x = { data: new Float32Array(3 * size * size).map((_, i) => Math.sin(i * 0.37)), shape: [1, 3, size, size] };
async function timed(n) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    await net.forward(x, { heads: ['cls'] });
    t.push(performance.now() - a);
  }
  return t;
}

if (serve) {
  const [first] = await timed(1);
  process.send({ load, first });
  process.on('message', async ({ calls }) => process.send({ times: await timed(calls) }));
  process.on('disconnect', () => {
    net.dispose();
    process.exit(0);
  });
} else {
  const steady = [];
  let first;
  for (let i = 0; i < windows; i++) {
    const t = await timed(25);
    first ??= t[0];
    const last = t.slice(10).sort((a, b) => a - b);
    steady.push(last[last.length >> 1]);
  }
  console.log(JSON.stringify({ load, first, steady: windows === 1 ? steady[0] : steady }));
  net.dispose();
}
