// Training end to end on real faces at a small input size: prepared data →
// SBI batches → SAM steps; the loss goes down, the backbone freeze holds,
// abort writes a checkpoint and resume continues exactly, a killed CLI run
// resumes from its last checkpoint.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateSynthetic, LaaError, Trainer, versions, type TrainEvent, type TrainerOptions } from '../src';
import { readSafetensors } from './support/safetensors';
import { prepareTrainingSet } from './support/paths';

const root = path.resolve(__dirname, '..');
const tmp = path.join(root, 'test', '.tmp', 'train');
const data = path.join(tmp, 'prepared');
const media = path.join(root, 'test', 'fixtures', 'media');

// Small enough for CI: 128 px input (32² targets), 2 items (4 images) per step.
const base = (outDir: string, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  data, outDir, inputSize: 128, batchSize: 2, framesPerVideo: 2, epochs: 2, freezeEpochs: 0, lr: 1e-4, threads: 2, seed: 7, ...extra,
});

async function collect(it: AsyncIterable<TrainEvent>, limit = Infinity, onEvent?: (e: TrainEvent) => void): Promise<TrainEvent[]> {
  const out: TrainEvent[] = [];
  for await (const e of it) {
    out.push(e);
    onEvent?.(e);
    if (out.length >= limit) break;
  }
  return out;
}

function tensorsOf(file: string) {
  return readSafetensors(file).tensors;
}

beforeAll(async () => {
  const r = await prepareTrainingSet(tmp);
  expect(r.frames).toBeGreaterThanOrEqual(4);
}, 120_000);

describe('Trainer', () => {
  it('makes SBI batches of reals and fakes with their targets, reproducibly', async () => {
    const t = await Trainer.create(base(path.join(tmp, 'batch')));
    try {
      const a = await t.makeBatch(0, 0);
      const b = await t.makeBatch(0, 0);
      expect(a.input.shape).toEqual([4, 3, 128, 128]);
      expect(a.heatmap.shape).toEqual([4, 1, 32, 32]);
      expect(Array.from(a.labels.data).sort()).toEqual([0, 0, 1, 1]);
      expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(b.input.data.buffer))).toBe(true);
      for (let i = 0; i < 4; i++) {
        const hm = a.heatmap.data.subarray(i * 1024, (i + 1) * 1024);
        const peak = Math.max(...hm);
        // Fakes have vulnerable points (peaks of exactly 1); reals have an all-zero heatmap.
        expect(peak).toBe(a.labels.data[i] === 1 ? 1 : 0);
      }
      const c = await t.makeBatch(1, 0);
      expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(c.input.data.buffer))).toBe(false);
    } finally {
      t.dispose();
    }
  }, 60_000);

  it('lowers the loss when it trains on a batch (SAM steps at 128 px)', async () => {
    const t = await Trainer.create(base(path.join(tmp, 'overfit'), { lr: 1e-3 }));
    try {
      const batch = await t.makeBatch(0, 0);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) losses.push((await t.trainOnBatch(batch)).loss.total);
      expect(losses.every(Number.isFinite)).toBe(true);
      const first = losses[0];
      const last = Math.min(...losses.slice(-3));
      expect(last).toBeLessThan(first * 0.8);
    } finally {
      t.dispose();
    }
  }, 120_000);

  it('trains with plain Adam when rho is 0 (one pass per step) and still learns', async () => {
    // Create each just before its step: creation seeds LibTorch's global RNG, so
    // both start from the same weights and draw the same dropout masks.
    const sam = await Trainer.create(base(path.join(tmp, 'rho-sam'), { lr: 1e-3 }));
    const batch = await sam.makeBatch(0, 0);
    const s1 = await sam.trainOnBatch(batch);
    const s2 = await sam.trainOnBatch(batch);
    sam.dispose();
    const adam = await Trainer.create(base(path.join(tmp, 'rho-0'), { lr: 1e-3, rho: 0 }));
    try {
      expect(adam.options.rho).toBe(0);
      // Same first pass: the reported losses agree; the updates do not.
      const a1 = await adam.trainOnBatch(batch);
      expect(a1.loss.total).toBe(s1.loss.total);
      expect(a1.gradNorm).toBe(s1.gradNorm);
      const a2 = await adam.trainOnBatch(batch);
      expect(a2.loss.total).not.toBe(s2.loss.total);
      const losses = [a1.loss.total, a2.loss.total];
      for (let i = 0; i < 6; i++) losses.push((await adam.trainOnBatch(batch)).loss.total);
      expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0] * 0.8);
    } finally {
      adam.dispose();
    }
    await expect(Trainer.create(base(path.join(tmp, 'x'), { rho: -1 }))).rejects.toMatchObject({ code: 'EINVAL' });
  }, 120_000);

  it('amplifies SBI artifacts by the curriculum gain, reals untouched, plain SBI after its epochs', async () => {
    const plain = await Trainer.create(base(path.join(tmp, 'gain-0'), { epochs: 4 }));
    const gain = await Trainer.create(base(path.join(tmp, 'gain-4'), { epochs: 4, artifactGain: { start: 4, epochs: 2 } }));
    try {
      const per = 3 * 128 * 128;
      const l1 = (x: Float32Array, i: number, y: Float32Array, j: number) => {
        let d = 0;
        for (let q = 0; q < per; q++) d += Math.abs(x[i * per + q] - y[j * per + q]);
        return d;
      };
      /** For each item: how far the curriculum moved it, and for fakes |gained fake − real| / |fake − real|. */
      const diffs = async (epoch: number) => {
        const [a, b] = [await plain.makeBatch(epoch, 0), await gain.makeBatch(epoch, 0)];
        const labels = Array.from(a.labels.data);
        expect(Array.from(b.labels.data)).toEqual(labels); // same draw, same pairs, same order
        const reals = labels.flatMap((l, i) => (l === 0 ? [i] : []));
        const real: number[] = [];
        const fake: number[] = [];
        const ratio: number[] = [];
        labels.forEach((l, i) => {
          (l === 1 ? fake : real).push(l1(a.input.data, i, b.input.data, i));
          if (l !== 1) return;
          const r = reals.reduce((best, k) => (l1(a.input.data, i, a.input.data, k) < l1(a.input.data, i, a.input.data, best) ? k : best));
          ratio.push(l1(b.input.data, i, a.input.data, r) / l1(a.input.data, i, a.input.data, r));
        });
        return { real, fake, ratio };
      };
      const e0 = await diffs(0);
      expect(e0.real.every((d) => d === 0)).toBe(true);
      expect(e0.fake.every((d) => d > 0)).toBe(true);
      // ×4 of the same difference (less where pixels saturate at 0 or 255)
      for (const r of e0.ratio) {
        expect(r).toBeGreaterThan(2.5);
        expect(r).toBeLessThan(4.05);
      }
      const e2 = await diffs(2); // the curriculum is over: plain SBI
      expect([...e2.real, ...e2.fake].every((d) => d === 0)).toBe(true);
    } finally {
      plain.dispose();
      gain.dispose();
    }
    await expect(Trainer.create(base(path.join(tmp, 'x'), { artifactGain: { start: 0.5, epochs: 2 } }))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(Trainer.create(base(path.join(tmp, 'x'), { synthesis: 'bi', artifactGain: { start: 4, epochs: 2 } }))).rejects.toMatchObject({ code: 'EINVAL' });
  }, 120_000);

  // Where bfloat16 is not native the run falls back to float32 (test/cpu.test.ts); what it computes is checked here either way.
  const native = versions().cpu.nativeBf16;
  it(`trains with bfloat16 autocast: float32 losses to bfloat16 precision, and it learns${native ? '' : ' (this CPU: the float32 fallback)'}`, async () => {
    const a = await Trainer.create(base(path.join(tmp, 'f32')));
    const b = await Trainer.create(base(path.join(tmp, 'bf16'), { precision: 'bfloat16', lr: 1e-3 }));
    try {
      expect(b.precision).toBe(native ? 'bfloat16' : 'float32');
      const batch = await a.makeBatch(0, 0);
      const ref = (await a.trainOnBatch(batch, { evaluate: true })).loss;
      const low = (await b.trainOnBatch(batch, { evaluate: true })).loss; // same seed: same initial weights
      if (native) expect(low.total).not.toBe(ref.total); // the passes really ran in bfloat16
      else expect(low.total).toBe(ref.total);
      for (const k of ['cls', 'hm', 'cst'] as const) expect(Math.abs(low[k] - ref[k])).toBeLessThan(0.03 * Math.abs(ref[k]) + 1e-3);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) losses.push((await b.trainOnBatch(batch)).loss.total);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0] * 0.8);
    } finally {
      a.dispose();
      b.dispose();
    }
    await expect(Trainer.create(base(path.join(tmp, 'x'), { precision: 'float16' as 'float32' }))).rejects.toMatchObject({ code: 'EINVAL' });
  }, 180_000);

  it('keeps the backbone fixed while frozen and trains the decoder', async () => {
    const out = path.join(tmp, 'freeze');
    const t = await Trainer.create(base(out, { epochs: 1, freezeEpochs: 1 }));
    try {
      await t.exportWeights(path.join(tmp, 'freeze-init.safetensors'));
      await collect(t.run());
    } finally {
      t.dispose();
    }
    const before = tensorsOf(path.join(tmp, 'freeze-init.safetensors'));
    const after = tensorsOf(path.join(out, 'model.safetensors'));
    const same = (k: string) => Buffer.from(before[k].data.buffer).equals(Buffer.from(after[k].data.buffer));
    expect(same('_conv_stem.weight')).toBe(true);
    expect(same('_blocks.10._depthwise_conv.weight')).toBe(true);
    expect(same('_conv_head.weight')).toBe(true);
    expect(same('deconv_1.0.0.weight')).toBe(false);
    expect(same('hm.3.weight')).toBe(false);
    // BatchNorm statistics keep updating in the frozen backbone (as in the
    // official training, docs/IMPLEMENTATION.md, Optimisation).
    expect(same('_bn0.running_mean')).toBe(false);
  }, 120_000);

  it('evaluates labelled real and fake files after the chosen epochs, on the weights it just wrote', async () => {
    const out = path.join(tmp, 'evaluation');
    const bogus = path.join(tmp, 'not-a-video.mp4');
    fs.writeFileSync(bogus, 'not a video');
    const evaluation = { real: [path.join(media, 'talking-head-2.mp4')], fake: [path.join(media, 'obama-720p.jpg'), bogus], every: 2, frames: 2 };
    const t = await Trainer.create(base(out, { epochs: 3, evaluation }));
    let events: TrainEvent[];
    try {
      events = await collect(t.run());
    } finally {
      t.dispose();
    }
    const evals = events.filter((e): e is Extract<TrainEvent, { type: 'evaluation' }> => e.type === 'evaluation');
    expect(evals.map((e) => e.epoch)).toEqual([1, 2]); // every 2nd epoch, and the last
    for (const e of evals) {
      expect(e.video).toMatchObject({ n: 2, nReal: 1, nFake: 1 });
      expect([0, 1]).toContain(e.video.auc); // one real and one fake: the pair is either ordered or not
      expect(e.frame.nReal).toBe(2);
      expect(e.failed).toBe(1);
    }
    // It follows the epoch's checkpoint and is logged.
    const i = events.findIndex((e) => e.type === 'evaluation');
    expect(events[i - 1]).toMatchObject({ type: 'checkpoint', reason: 'epoch', epoch: 2 });
    const logged = fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(logged.filter((e) => e.type === 'evaluation')).toHaveLength(2);
    await expect(Trainer.create(base(path.join(tmp, 'x'), { evaluation: { real: [], fake: 'f.mp4' } }))).rejects.toMatchObject({ code: 'EINVAL' });
  }, 300_000);

  it('aborts mid-epoch with a checkpoint, and resume ends exactly where an uninterrupted run does', async () => {
    const full = path.join(tmp, 'full');
    const a = await Trainer.create(base(full));
    const steps = a.stepsPerEpoch;
    expect(steps).toBe(2);
    const eventsA = await collect(a.run());
    a.dispose();
    expect(eventsA.filter((e) => e.type === 'step')).toHaveLength(4);
    expect(eventsA.at(-1)?.type).toBe('done');

    const part = path.join(tmp, 'part');
    const b = await Trainer.create(base(part));
    const ac = new AbortController();
    let stepsSeen = 0;
    const seen: TrainEvent[] = [];
    await expect(
      collect(b.run({ signal: ac.signal }), Infinity, (e) => {
        seen.push(e);
        if (e.type === 'step' && ++stepsSeen === 3) ac.abort();
      }),
    ).rejects.toMatchObject({ code: 'ABORT_ERR' });
    b.dispose();
    const ck = seen.at(-1);
    expect(ck).toMatchObject({ type: 'checkpoint', reason: 'abort', epoch: 1, step: 1 });

    await expect(Trainer.create(base(part))).rejects.toMatchObject({ code: 'EINVAL' }); // resume not asked for
    await expect(Trainer.create(base(part, { resume: true, batchSize: 1 }))).rejects.toThrow(/batchSize/);
    await expect(Trainer.create(base(part, { resume: true, precision: 'bfloat16' }))).rejects.toThrow(/precision/);

    const c = await Trainer.create(base(part, { resume: true }));
    expect(c.position).toEqual({ epoch: 1, step: 1 });
    const rest = await collect(c.run());
    c.dispose();
    expect(rest.filter((e) => e.type === 'step').map((e) => (e as { step: number }).step)).toEqual([1]);
    const wa = tensorsOf(path.join(full, 'model.safetensors'));
    const wb = tensorsOf(path.join(part, 'model.safetensors'));
    let maxDiff = 0;
    for (const k of Object.keys(wa)) {
      const x = wa[k].data;
      const y = wb[k].data;
      for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(Number(x[i]) - Number(y[i])));
    }
    expect(maxDiff).toBe(0);
  }, 240_000);

  it('resumes a bfloat16 run exactly too', async () => {
    const opts = { precision: 'bfloat16' as const, epochs: 1 };
    const full = path.join(tmp, 'bf16-full');
    const part = path.join(tmp, 'bf16-part');
    const a = await Trainer.create(base(full, opts));
    await collect(a.run()).finally(() => a.dispose());
    const b = await Trainer.create(base(part, opts));
    const ac = new AbortController();
    await expect(collect(b.run({ signal: ac.signal }), Infinity, (e) => e.type === 'step' && ac.abort())).rejects.toMatchObject({ code: 'ABORT_ERR' });
    b.dispose();
    const c = await Trainer.create(base(part, { ...opts, resume: true }));
    expect(c.position).toEqual({ epoch: 0, step: 1 });
    await collect(c.run()).finally(() => c.dispose());
    const wa = tensorsOf(path.join(full, 'model.safetensors'));
    const wb = tensorsOf(path.join(part, 'model.safetensors'));
    const differ = Object.keys(wa).filter((k) => !Buffer.from(wa[k].data.buffer).equals(Buffer.from(wb[k].data.buffer)));
    expect(differ).toEqual([]);
  }, 240_000);

  it('evaluates a precise-BN copy of the weights, and evaluating changes nothing the run trains', async () => {
    const evaluated = path.join(tmp, 'evaluated-bn');
    const plain = path.join(tmp, 'plain-bn');
    const evaluation = { real: [path.join(media, 'talking-head-2.mp4')], fake: [path.join(media, 'obama-720p.jpg')], every: 1, frames: 1, preciseBnSteps: 2 };
    const a = await Trainer.create(base(evaluated, { evaluation }));
    const b = await Trainer.create(base(plain));
    let events: TrainEvent[];
    try {
      events = await collect(a.run());
      await collect(b.run());
    } finally {
      a.dispose();
      b.dispose();
    }
    const evals = events.filter((e): e is Extract<TrainEvent, { type: 'evaluation' }> => e.type === 'evaluation');
    expect(evals.map((e) => [e.epoch, e.preciseBn, e.weights])).toEqual([
      [0, true, path.join(evaluated, 'evaluation-weights.safetensors')],
      [1, true, path.join(evaluated, 'evaluation-weights.safetensors')],
    ]);
    // The recalibration passes (train mode, dropout) left the run's statistics and RNG alone: same weights as a run without evaluations.
    const wa = tensorsOf(path.join(evaluated, 'model.safetensors'));
    const wb = tensorsOf(path.join(plain, 'model.safetensors'));
    const same = (x: { data: ArrayLike<number | bigint> }, y: { data: ArrayLike<number | bigint> }) =>
      x.data.length === y.data.length && Array.from(x.data).every((v, i) => v === y.data[i]);
    expect(Object.keys(wa).filter((k) => !same(wa[k], wb[k]))).toEqual([]);
    // The evaluated copy: the same parameters, BatchNorm statistics recomputed.
    const we = tensorsOf(path.join(evaluated, 'evaluation-weights.safetensors'));
    const stats = (k: string) => /running_(mean|var)$|num_batches_tracked$/.test(k);
    expect(Object.keys(wa).filter((k) => !stats(k) && !same(wa[k], we[k]))).toEqual([]);
    expect(same(wa['_bn0.running_mean'], we['_bn0.running_mean'])).toBe(false);
    expect(same(wa['deconv_1.0.1.running_var'], we['deconv_1.0.1.running_var'])).toBe(false);
    await expect(Trainer.create(base(path.join(tmp, 'x'), { evaluation: { ...evaluation, preciseBnSteps: -1 } }))).rejects.toMatchObject({ code: 'EINVAL' });
  }, 240_000);

  it('a killed CLI run resumes from its last checkpoint', async () => {
    const out = path.join(tmp, 'killed');
    const cli = path.join(root, 'lib', 'cli', 'main.js');
    const args = [cli, 'train', data, '--out', out, '--input-size', '128', '--batch-size', '2', '--frames-per-video', '2', '--epochs', '2', '--freeze-epochs', '0', '--threads', '2', '--seed', '7', '--lr', '1e-4', '--checkpoint-every', '1'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const log = path.join(out, 'log.jsonl');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('"checkpoint"')) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 100);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the training run ended before it was killed'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    const t = await Trainer.create(base(out, { resume: true }));
    expect(t.position.epoch * 2 + t.position.step).toBeGreaterThanOrEqual(1);
    t.dispose();
    const again = spawn(process.execPath, [...args, '--resume'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    again.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => again.once('exit', r));
    expect(code, err).toBe(0);
    expect(err).toMatch(/resuming at epoch/);
    expect(err).toMatch(/done: weights in/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
  }, 240_000);

  it('recalibrates BatchNorm statistics without touching the weights, and evaluates held-out SBI pairs', async () => {
    const out = path.join(tmp, 'precise-bn');
    const t = await Trainer.create(base(out));
    try {
      await t.exportWeights(path.join(out, 'a.safetensors'));
      await t.recalibrateBatchNorm(1);
      await t.exportWeights(path.join(out, 'b.safetensors'));
    } finally {
      t.dispose();
    }
    const a = tensorsOf(path.join(out, 'a.safetensors'));
    const b = tensorsOf(path.join(out, 'b.safetensors'));
    const same = (k: string) => Buffer.from(a[k].data.buffer).equals(Buffer.from(b[k].data.buffer));
    expect(same('_conv_stem.weight')).toBe(true);
    expect(same('_bn0.weight')).toBe(true);
    expect(same('_bn0.running_mean')).toBe(false);
    expect(same('deconv_2.2.running_var')).toBe(false);
    const r = await evaluateSynthetic({ weights: path.join(out, 'b.safetensors'), data, maxFrames: 2, threads: 2 });
    expect(r).toMatchObject({ frames: 2, n: 4, nReal: 2, nFake: 2, inputSize: 128 });
    expect(r.auc).toBeGreaterThanOrEqual(0);
    expect(r.auc).toBeLessThanOrEqual(1);
  }, 120_000);

  it.runIf(!versions().cuda)('refuses device: cuda without CUDA (EDEVICE) and trains on the CPU with auto', async () => {
    await expect(Trainer.create(base(path.join(tmp, 'cuda'), { device: 'cuda' }))).rejects.toMatchObject({ code: 'EDEVICE' });
    const t = await Trainer.create(base(path.join(tmp, 'auto'), { device: 'auto' }));
    try {
      const r = await t.trainOnBatch(await t.makeBatch(0, 0));
      expect(Number.isFinite(r.loss.total)).toBe(true);
    } finally {
      t.dispose();
    }
  }, 120_000);

  it('rejects bad options and data with typed errors', async () => {
    await expect(Trainer.create(base(path.join(tmp, 'x'), { inputSize: 100 }))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(Trainer.create(base(path.join(tmp, 'x'), { data: path.join(tmp, 'nope') }))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(Trainer.create(base(path.join(tmp, 'x'), { batchSize: 1000 }))).rejects.toThrow(/fewer than one batch/);
    await expect(Trainer.create(base(path.join(tmp, 'x'), { init: { backbone: path.join(media, 'obama-720p.jpg') } }))).rejects.toBeInstanceOf(LaaError);
    const t = await Trainer.create(base(path.join(tmp, 'disposed')));
    t.dispose();
    await expect(t.makeBatch(0, 0)).rejects.toMatchObject({ code: 'EDISPOSED' });
  }, 60_000);
});
