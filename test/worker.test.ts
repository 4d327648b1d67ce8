// The addon is context-aware: it loads in several worker_threads at once and
// survives a Worker being terminated while native work is running.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';

const script = `
const { parentPort, workerData } = require('node:worker_threads');
const { LaaNet } = require(${JSON.stringify(path.join(repoRoot, 'lib'))});
(async () => {
  const net = await LaaNet.reference(undefined, { threads: 1 });
  const x = { data: new Float32Array(3 * 64 * 64).fill(workerData.value), shape: [1, 3, 64, 64] };
  parentPort.postMessage('started');
  const out = await net.forward(x, { heads: ['cls'] });
  parentPort.postMessage(out.cls.data[0]);
})().catch((e) => parentPort.postMessage('error: ' + e.message));
`;

function run(value: number): { worker: Worker; result: Promise<number> } {
  const worker = new Worker(script, { eval: true, workerData: { value } });
  const result = new Promise<number>((resolve, reject) => {
    worker.on('message', (m) => {
      if (typeof m === 'number') resolve(m);
      else if (String(m).startsWith('error')) reject(new Error(String(m)));
    });
    worker.on('error', reject);
  });
  return { worker, result };
}

describe('worker_threads', () => {
  it('runs the model in two Workers at once', async () => {
    const [a, b] = [run(0.5), run(-0.5)];
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(Number.isFinite(ra) && Number.isFinite(rb)).toBe(true);
    expect(ra).not.toBe(rb);
    await Promise.all([a.worker.terminate(), b.worker.terminate()]);
  });

  it('survives terminating a Worker while it computes', async () => {
    const w = run(0.25);
    await new Promise<void>((resolve) => w.worker.once('message', () => resolve()));
    await w.worker.terminate();
    // The process and the addon still work.
    const again = run(0.25);
    expect(Number.isFinite(await again.result)).toBe(true);
    await again.worker.terminate();
  });
});
