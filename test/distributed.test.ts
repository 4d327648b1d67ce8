// Data-parallel training over c10d Gloo on loopback, 2 processes at 128 px
// (Lite0 from its ImageNet weights, 2 items = 4 images per global batch): the
// ranks split each global batch, 2 × B/2 with syncBatchNorm take the steps of
// 1 × B, the run trains without it, and a rank that dies makes the others fail
// with EDISTRIBUTED, leaving a checkpoint that --resume continues.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, LaaError, resolveDistributed, Trainer, type TrainerOptions } from '../src';
import { readSafetensors } from './support/safetensors';
import { prepareTrainingSet } from './support/paths';

const root = path.resolve(__dirname, '..');
const tmp = path.join(root, 'test', '.tmp', 'distributed');
const data = path.join(tmp, 'prepared');
const rankScript = path.join(root, 'test', 'support', 'train-rank.mjs');
const cli = path.join(root, 'lib', 'cli', 'main.js');

const base = (outDir: string, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  data, outDir, inputSize: 128, batchSize: 2, framesPerVideo: 2, epochs: 2, freezeEpochs: 0, lr: 1e-9, threads: 1, seed: 7,
  backbone: 'efficientnet-lite0', init: { backbone: 'imagenet' }, ...extra,
});

interface RankOutput { rank: number; worldSize: number; losses: number[]; gradNorms?: number[]; bytes: number[]; rows?: string[] }

function runProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, LAA_NATIVE_RANK_OF_LAUNCH: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One process (worldSize 1: no distributed setup at all) or `world` ranks over loopback. */
async function train(opts: TrainerOptions & { exportInit?: string }, world: number, mode = 'run'): Promise<RankOutput[]> {
  const port = await freePort();
  const runs = Array.from({ length: world }, (_, rank) =>
    runProcess([rankScript, JSON.stringify(opts), mode], world > 1 ? { RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) } : { WORLD_SIZE: undefined }),
  );
  const done = await Promise.all(runs);
  for (const d of done) expect(d.code, d.stderr).toBe(0);
  return done.map((d) => JSON.parse(d.stdout.trim().split('\n').pop()!) as RankOutput);
}

function weights(file: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(readSafetensors(file).tensors)) if (t.data instanceof Float32Array) out.set(k, t.data);
  return out;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

beforeAll(async () => {
  await prepareTrainingSet(tmp);
}, 120_000);

describe('distributed options', () => {
  it('come from the torchrun environment and are checked', () => {
    expect(resolveDistributed(undefined, {})).toBeUndefined();
    expect(resolveDistributed(undefined, { WORLD_SIZE: '4', RANK: '3', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '29400' })).toEqual({
      backend: 'gloo', rank: 3, worldSize: 4, masterAddr: '10.0.0.1', masterPort: 29400, timeoutMs: 1_800_000, syncBatchNorm: false,
    });
    expect(resolveDistributed({ rank: 0, worldSize: 2, syncBatchNorm: true }, {})).toMatchObject({ masterAddr: '127.0.0.1', masterPort: 29500, syncBatchNorm: true });
    expect(() => resolveDistributed({ rank: 2, worldSize: 2 }, {})).toThrow(/0\.\.1 for options\.distributed\.rank \(or RANK\) but received 2/);
    expect(() => resolveDistributed(true, {})).toThrow(/worldSize \(or WORLD_SIZE\)/);
    expect(() => resolveDistributed(undefined, { WORLD_SIZE: 'two', RANK: '0' })).toThrow(/WORLD_SIZE/);
    expect(() => resolveDistributed({ rank: 0, worldSize: 2, backend: 'nccl' as 'gloo' }, {})).toThrow(/no NCCL/);
  });

  it('fails with EDISTRIBUTED when the other ranks never come', async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await Trainer.create({
      ...base(path.join(tmp, 'lonely')), distributed: { rank: 1, worldSize: 2, masterPort: port, timeoutMs: 1500 },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(LaaError);
    expect(err.code).toBe('EDISTRIBUTED');
    expect(err.message).toMatch(/rank 1 of 2: the rendezvous at 127\.0\.0\.1:\d+ \(served by rank 0\) did not complete within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

describe('data-parallel training (Gloo, 2 processes)', () => {
  it('gives each rank its rows of the same global batch', async () => {
    const one = await train(base(path.join(tmp, 'batch-1')), 1, 'batch');
    const two = await train(base(path.join(tmp, 'batch-2'), { distributed: true }), 2, 'batch');
    expect(one[0].rows).toHaveLength(4);
    expect(two.map((r) => r.rows!.length)).toEqual([2, 2]);
    expect([...two[0].rows!, ...two[1].rows!]).toEqual(one[0].rows);
  }, 120_000);

  it('with syncBatchNorm, 2 ranks × B/2 take the steps of 1 rank × B', async () => {
    // At a vanishing learning rate every step sees (almost) the same weights, so its losses and gradient are
    // compared with nothing amplifying float32 rounding; the weights after 4 SAM steps (ascent, descent, Adam)
    // must then agree to rounding. At a training learning rate two float32 runs that only sum in another order
    // drift apart within steps (bench/RESULTS.md measures it); that is no test of the split.
    const init = path.join(tmp, 'init.safetensors');
    const [one] = await train({ ...base(path.join(tmp, 'one')), exportInit: init }, 1);
    // The float32 noise floor on this CPU: the same single process with 2 threads instead of 1 (another order of sums).
    const [threads2] = await train(base(path.join(tmp, 'one-2-threads'), { threads: 2 }), 1);
    const two = await train(base(path.join(tmp, 'two'), { distributed: { syncBatchNorm: true } }), 2);
    expect(one.losses).toHaveLength(4);
    expect(two[0].losses).toEqual(two[1].losses); // every rank reports the global values
    expect(two[0].gradNorms).toEqual(two[1].gradNorms);
    const noise = Math.max(...one.gradNorms!.map((g, s) => rel(threads2.gradNorms![s], g)));
    for (let s = 0; s < 4; s++) {
      // Measured: loss within 1.5e-6 (Xeon) / 5e-6 (EPYC); gradient norm within 3e-4 on an AVX-512 Xeon, where
      // 1 vs 2 threads moved it by 7e-5, and within 3.8e-3 on an AVX2 EPYC, where 1 vs 2 threads moved it by as much.
      expect(rel(two[0].losses[s], one.losses[s])).toBeLessThan(2e-5);
      expect(rel(two[0].gradNorms![s], one.gradNorms![s])).toBeLessThan(Math.max(2e-3, 2 * noise));
    }
    const a = weights(path.join(tmp, 'one', 'model.safetensors'));
    const b = weights(path.join(tmp, 'two', 'model.safetensors'));
    const w0 = weights(init);
    let worst = 0;
    let moved = 0;
    for (const [k, wa] of a) {
      if (k.includes('running_')) continue; // batch statistics: compared through the losses
      const wb = b.get(k)!;
      const w = w0.get(k)!;
      for (let i = 0; i < wa.length; i++) {
        worst = Math.max(worst, Math.abs(wa[i] - wb[i]));
        moved = Math.max(moved, Math.abs(wa[i] - w[i]));
      }
    }
    expect(moved).toBeGreaterThan(0); // the steps were taken
    expect(worst).toBeLessThan(1e-6); // measured 2.4e-7: SAM's ascent and descent round differently
    // Gradients of both passes plus the step's statistics crossed the ranks: ≥ 2 × 4 bytes × 3.4 M parameters.
    expect(Math.min(...two[0].bytes)).toBeGreaterThan(2 * 4 * 3.4e6);
    // Without syncBatchNorm each rank normalises its own 2 images: the first loss is another one.
    const local = await train(base(path.join(tmp, 'two-local'), { distributed: { syncBatchNorm: false } }), 2);
    expect(rel(local[0].losses[0], one.losses[0])).toBeGreaterThan(1e-3);
  }, 240_000);

  it('trains without syncBatchNorm: the loss on a repeated batch falls', async () => {
    const two = await train(base(path.join(tmp, 'overfit'), { lr: 1e-3, distributed: true }), 2, 'overfit');
    const losses = two[0].losses;
    expect(two[1].losses).toEqual(losses);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0] * 0.8);
  }, 120_000);

  it('a killed rank makes the launch fail with EDISTRIBUTED; the checkpoint resumes', async () => {
    const out = path.join(tmp, 'killed');
    const args = [cli, 'train', data, '--out', out, '--input-size', '128', '--batch-size', '2', '--frames-per-video', '2', '--epochs', '4',
      '--backbone', 'efficientnet-lite0', '--init-backbone', 'imagenet', '--threads', '1', '--freeze-epochs', '0', '--checkpoint-every', '1',
      '--nproc', '2', '--sync-batch-norm', '--dist-timeout', '10'];
    const launcher = spawn(process.execPath, args, { env: { ...process.env, LAA_NATIVE_RANK_OF_LAUNCH: undefined }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    launcher.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
    // Kill rank 1 once rank 0 has logged 2 steps.
    const log = path.join(out, 'log.jsonl');
    const steps = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0);
    const deadline = Date.now() + 90_000;
    while (steps() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(steps()).toBeGreaterThanOrEqual(2);
    const rank1 = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
      try {
        const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
        return env.includes('RANK=1') && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(out);
      } catch {
        return false;
      }
    });
    expect(rank1).toBeDefined();
    process.kill(Number(rank1), 'SIGKILL');
    const code = await exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/rank 1 was killed by SIGKILL/);
    expect(stderr).toMatch(/\[EDISTRIBUTED\] rank 0 of 2: all-reduce failed: .*No heartbeat from rank 1/);
    // The last checkpoint is whole, and --resume finishes the run from it.
    const ckpt = readSafetensors(path.join(out, 'checkpoint.safetensors'));
    const at = Number(ckpt.metadata.epoch) * 2 + Number(ckpt.metadata.step);
    expect(ckpt.metadata.world_size).toBe('2');
    expect(at).toBeGreaterThanOrEqual(2);
    const again = await runProcess([...args, '--resume'], {});
    expect(again.code, again.stderr).toBe(0);
    const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.at(-1).type).toBe('done');
    const logged = events.filter((e) => e.type === 'step').map((e) => e.globalStep as number);
    expect(logged.slice(-(8 - at))).toEqual(Array.from({ length: 8 - at }, (_, i) => at + i));
  }, 240_000);
});
