// Issue #24: the verdict and its calibration on real videos, the evaluation metrics that say how a model
// fails (TPR at low FPR, the EER threshold, ECE), the video-domain degradations used in training, and the
// robustness ladder — on real inputs (the bundled model, dev-eval clips, real photos and training frames).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  calibrate, calibrationFrom, CALIBRATION_KEY, Detector, degradeImage, drawDegradation, LaaNet, metrics, percentileOf,
  readCalibration, robustness, Trainer, verdictOf, evaluate, type RgbImage,
} from '../src';
import { bundledModel, prepareTrainingSet, repoRoot, sharedDir, tmpDir } from './support/paths';
import { readPngRgb as readPng } from './support/png.mjs';

const devEval = path.join(sharedDir, 'data', 'dev-eval');
const reals = ['Ava_de_Addario_0__left_real.mp4', 'Keanu_Reeves_0__left_real.mp4'].map((f) => path.join(devEval, 'real', f));
const fakes = ['Ava_de_Addario_0__right_fake.mp4', 'Keanu_Reeves_0__right_fake.mp4'].map((f) => path.join(devEval, 'fake', f));
const haveData = [...reals, ...fakes].every((f) => fs.existsSync(f));
const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), ...args], { encoding: 'utf8' });
const tmp = tmpDir('verdict');

/** A real face photo as RGB (the White House portrait, 256² crop of its centre). */
async function photo(): Promise<RgbImage> {
  const png = readPng(path.join(repoRoot, 'models', 'calibration', 'obama-256.png'));
  return { data: png.data, width: png.width, height: png.height };
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

describe('metrics that say how a model fails', () => {
  it('TPR at a fixed FPR, the EER threshold and the expected calibration error, by hand', () => {
    // reals 0.1 0.2 0.3 0.9, fakes 0.4 0.8 0.95 0.99
    const labels = [0, 0, 0, 0, 1, 1, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.9, 0.4, 0.8, 0.95, 0.99];
    const roc = metrics.rocCurve(labels, scores);
    // FPR 0 is reached with the two fakes above 0.9: TPR 0.5; FPR ≤ 0.25 admits all four.
    expect(metrics.tprAtFpr(roc, 0.01)).toBe(0.5);
    expect(metrics.tprAtFpr(roc, 0.25)).toBe(1);
    // The first point where FPR ≥ FNR: thresholds 0.9 (FPR .25, TPR .5 -> FNR .5) no; 0.8 (FPR .25, TPR .75) yes.
    expect(metrics.eerThreshold(roc)).toBe(0.8);
    // Bins: [0.1] 0/1, [0.2] 0/1, [0.3] 0/1, [0.4] 1/1, [0.8] 1/1, [0.9..1) 0.9(0) 0.95(1) 0.99(1).
    const ece = metrics.expectedCalibrationError(labels, scores);
    const expected = (0.1 + 0.2 + 0.3 + 0.6 + 0.2) / 8 + (3 / 8) * Math.abs(2 / 3 - (0.9 + 0.95 + 0.99) / 3);
    expect(ece).toBeCloseTo(expected, 12);
    const m = metrics.binaryMetrics(labels, scores);
    expect(m).toMatchObject({ tprAt1Fpr: 0.5, eerThreshold: 0.8 });
    expect(m.tprAt5Fpr).toBe(0.5);
    expect(metrics.binaryMetrics([1, 1], [0.2, 0.3]).tprAt1Fpr).toBeNaN();
  });
});

describe('verdict', () => {
  it('sets the 1 % and 5 % points of the real reference scores and reads them back', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i + 1) / 200); // 0.005 … 0.5
    const c = calibrationFrom(scores, 'test', 32);
    expect(c.likelyFake).toBe(0.495); // exactly one of 100 is higher
    expect(c.uncertain).toBe(0.475); // five are higher
    expect(verdictOf(0.2, c)).toBe('likely-real');
    expect(verdictOf(0.48, c)).toBe('uncertain');
    expect(verdictOf(0.6, c)).toBe('likely-fake');
    expect(verdictOf(0.6, c, 0.7)).toBe('likely-real'); // an explicit threshold overrides
    expect(verdictOf(0.6, undefined)).toBe('likely-fake');
    expect(percentileOf(0.6, c.referenceScores)).toBe(100);
    expect(percentileOf(0.0025, c.referenceScores)).toBe(0);
    expect(percentileOf(0.25, c.referenceScores)).toBe(49.5);
    expect(readCalibration({ [CALIBRATION_KEY]: JSON.stringify(c) })).toEqual(c);
    expect(readCalibration({})).toBeUndefined();
    expect(() => readCalibration({ [CALIBRATION_KEY]: '{"likelyFake": 2}' })).toThrow(expect.objectContaining({ code: 'ECORRUPT' }));
    expect(() => readCalibration({ [CALIBRATION_KEY]: 'nope' })).toThrow(expect.objectContaining({ code: 'ECORRUPT' }));
    // Few references: with 10 scores the 1 % point is the highest score.
    expect(calibrationFrom([0.1, 0.3, 0.2, 0.05, 0.4, 0.15, 0.25, 0.35, 0.12, 0.22], 't', 8)).toMatchObject({ likelyFake: 0.4, uncertain: 0.4 });
  });

  it.skipIf(!haveData)('calibrate writes the thresholds into the weights; the detector then gives verdicts and percentiles', async () => {
    const out = path.join(tmp, 'calibrated.safetensors');
    const r = await calibrate({ weights: bundledModel, reals, output: out, frames: 4 });
    expect(r.scores).toHaveLength(reals.length * 4); // clean + 3 degraded variants
    expect(new Set(r.scores.map((s) => s.variant))).toEqual(new Set(['clean', 'h264 crf 35', 'downscale x2 + jpeg 60', 'blur 1.5 + noise 0.01']));
    expect(r.failed).toEqual([]);
    const sorted = r.scores.map((s) => s.score).sort((a, b) => a - b);
    expect(r.calibration.likelyFake).toBe(sorted[sorted.length - 1]);
    expect(r.calibration.uncertain).toBe(sorted[sorted.length - 1]);
    expect(r.calibration.reference).toContain('2 real videos');

    // The calibrated file keeps the model (same scores) and its name, and carries the calibration.
    const net = await LaaNet.load(out, { dtype: 'float32' });
    expect(net.info.metadata.model_name).toBe('laa-native-lite0-sbi-256');
    expect(readCalibration(net.info.metadata)).toEqual(r.calibration);
    const d = await Detector.create({ weights: net });
    try {
      const real = await d.scoreVideo(reals[0], { frames: 4 });
      expect(real.calibration).toMatchObject({ likelyFake: r.calibration.likelyFake, references: 8 });
      expect(real.score).toBeCloseTo(r.scores[0].score, 6);
      expect(real.percentile).toBe(percentileOf(real.score, r.calibration.referenceScores));
      expect(real.verdict).not.toBe('likely-fake'); // a reference itself is never above the 1 % point
      expect(real.label).toBe('real');
      expect(real.threshold).toBe(r.calibration.likelyFake);
      const fake = await d.scoreVideo(fakes[1], { frames: 4 });
      expect(['likely-real', 'uncertain', 'likely-fake']).toContain(fake.verdict);
      expect(fake.label).toBe(fake.verdict === 'likely-fake' ? 'fake' : 'real');
      expect(fake.explanation).toMatch(/real videos this model never trained on/);
      const forced = await d.scoreVideo(fakes[1], { frames: 4, threshold: 0 });
      expect(forced).toMatchObject({ verdict: 'likely-fake', label: 'fake', threshold: 0 });
    } finally {
      d.dispose();
      net.dispose();
    }

    // The CLI prints the verdict; eval marks the thresholds on the ROC.
    const s = cli(['score', fakes[1], '--frames', '2', '--json', '--weights', out]);
    expect(s.status).toBe(0);
    const line = JSON.parse(s.stdout.trim());
    expect(line).toMatchObject({ ok: true, calibration: { references: 8 } });
    expect(['likely-real', 'uncertain', 'likely-fake']).toContain(line.verdict);
    expect(typeof line.percentile).toBe('number');
    const roc = path.join(tmp, 'roc.png');
    const e = cli(['eval', '--real', ...reals, '--fake', ...fakes, '--frames', '2', '--weights', out, '--roc', roc]);
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/TPR@1%FPR\s+TPR@5%FPR\s+EER thr\.\s+ECE/);
    expect(fs.statSync(roc).size).toBeGreaterThan(1000);
  }, 300_000);

  it.skipIf(!haveData)('calibrate refuses bad input with typed errors', async () => {
    await expect(calibrate({ weights: bundledModel, reals: [] })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(calibrate({ weights: '/nonexistent.safetensors', reals })).rejects.toMatchObject({ code: 'ENOENT' });
    const notVideo = path.join(tmp, 'not-a-video.mp4');
    fs.writeFileSync(notVideo, 'hello');
    await expect(calibrate({ weights: bundledModel, reals: [notVideo], output: path.join(tmp, 'x.safetensors'), frames: 2, cleanOnly: true })).rejects.toMatchObject({ code: 'EUNSUPPORTED', message: expect.stringContaining('none of the 1 reference videos') });
  }, 60_000);
});

describe('video-domain degradations', () => {
  it('re-encodes, blurs, rescales and adds noise deterministically, stronger settings losing more', async () => {
    const img = await photo();
    const q = async (d: object) => psnr(img.data, (await degradeImage(img, d)).data);
    const crf23 = await q({ h264Crf: 23 }), crf40 = await q({ h264Crf: 40 });
    const jpeg90 = await q({ jpegQuality: 90 }), jpeg30 = await q({ jpegQuality: 30 });
    expect(crf23).toBeGreaterThan(crf40);
    expect(jpeg90).toBeGreaterThan(jpeg30);
    expect(crf40).toBeGreaterThan(20); // still the same picture
    expect(await q({ downscale: 2 })).toBeGreaterThan(await q({ downscale: 4 }));
    expect(await q({ blurSigma: 1 })).toBeGreaterThan(await q({ blurSigma: 3 }));
    const a = await degradeImage(img, { h264Crf: 35, noiseSigma: 0.02, blurSigma: 1, gamma: 1.2 });
    const b = await degradeImage(img, { h264Crf: 35, noiseSigma: 0.02, blurSigma: 1, gamma: 1.2 });
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from((await degradeImage(img, {})).data).equals(Buffer.from(img.data))).toBe(true);
    // Odd sides go through H.264 too (padded, cut back).
    const odd = { data: img.data.subarray(0, 255 * 255 * 3), width: 255, height: 255 };
    expect(await degradeImage(odd, { h264Crf: 30 })).toMatchObject({ width: 255, height: 255 });
    await expect(degradeImage(img, { h264Crf: 60 })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('h264Crf') });
    await expect(degradeImage(img, { gain: [1, 1] as never })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('draws training degradations in the documented ranges, none at probability 0', () => {
    expect(drawDegradation(5n, 0)).toEqual({ description: 'none' });
    expect(drawDegradation(9n, 0.8)).toEqual(drawDegradation(9n, 0.8));
    let h264 = 0, jpeg = 0, degraded = 0;
    for (let s = 0n; s < 300n; s++) {
      const d = drawDegradation(s, 0.8);
      if (d.description !== 'none') degraded++;
      if (d.h264Crf !== undefined) (h264++, expect(d.h264Crf).toBeGreaterThanOrEqual(23), expect(d.h264Crf).toBeLessThanOrEqual(40));
      if (d.jpegQuality !== undefined) (jpeg++, expect(d.jpegQuality).toBeGreaterThanOrEqual(30), expect(d.jpegQuality).toBeLessThanOrEqual(95));
      if (d.downscale !== undefined) expect(d.downscale).toBeGreaterThanOrEqual(1.5), expect(d.downscale).toBeLessThan(4);
      if (d.blurSigma !== undefined) expect(d.blurSigma).toBeLessThan(2);
      expect(d.h264Crf !== undefined && d.jpegQuality !== undefined).toBe(false);
    }
    expect(degraded).toBeGreaterThan(200); // ~240 of 300 at p = 0.8 (a handful draw nothing at all)
    expect(degraded).toBeLessThan(270);
    expect(h264).toBeGreaterThan(80);
    expect(jpeg).toBeGreaterThan(50);
  });

  describe('in training batches', () => {
    const dir = path.join(repoRoot, 'test', '.tmp', 'degrade-train');
    let data = '';
    beforeAll(async () => {
      data = (await prepareTrainingSet(dir)).data;
    }, 120_000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('degrades both images of an SBI pair alike, reproducibly, and records the setting for resume', async () => {
      const opts = (degrade: number) => ({ data, outDir: path.join(dir, `out-${degrade}`), inputSize: 128, batchSize: 2, framesPerVideo: 2, epochs: 2, threads: 1, seed: 7, degrade });
      const clean = await Trainer.create(opts(0));
      const deg = await Trainer.create(opts(1));
      try {
        expect(deg.options.degrade).toBe(1);
        const a = await clean.makeBatch(0, 0);
        const b = await deg.makeBatch(0, 0);
        const b2 = await deg.makeBatch(0, 0);
        expect(Buffer.from(b.input.data.buffer).equals(Buffer.from(b2.input.data.buffer))).toBe(true);
        expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(b.input.data.buffer))).toBe(false);
        // Targets come from the blend, not the pixels: the same with and without degradations.
        expect(Array.from(b.labels.data)).toEqual(Array.from(a.labels.data));
        expect(Buffer.from(b.heatmap.data.buffer).equals(Buffer.from(a.heatmap.data.buffer))).toBe(true);
      } finally {
        clean.dispose();
        deg.dispose();
      }
      await expect(Trainer.create({ ...opts(1), degrade: 1.5 })).rejects.toMatchObject({ code: 'EINVAL' });
    }, 120_000);
  });
});

describe.skipIf(!haveData)('robustness', () => {
  it('rescores a real/fake set under each level of a degradation, with a table and a plot', async () => {
    const d = await Detector.create();
    try {
      const r = await robustness({ real: reals, fake: fakes, detector: d, frames: 2, kinds: ['jpeg'] });
      expect(r.rows.map((x) => [x.kind, x.level])).toEqual([['clean', null], ['jpeg', 90], ['jpeg', 50], ['jpeg', 30]]);
      for (const row of r.rows) {
        expect(row.video.n).toBe(4);
        expect(row.video.auc).toBeGreaterThanOrEqual(0);
        expect(row.video.auc).toBeLessThanOrEqual(1);
      }
      // The clean row is what evaluate() measures.
      const ev = await evaluate({ real: reals, fake: fakes, detector: d, frames: 2 });
      expect(r.rows[0].video.auc).toBe(ev.video.auc);
      const png = path.join(tmp, 'robustness.png');
      const { writeRobustnessPng, formatRobustnessTable } = await import('../src');
      await writeRobustnessPng(r, png);
      expect(readPng(png).width).toBeGreaterThan(200);
      expect(formatRobustnessTable(r)).toMatch(/^jpeg 30 quality\s+\d\.\d{3}/m);
      await expect(robustness({ real: reals, fake: fakes, detector: d, kinds: ['zoom'] })).rejects.toMatchObject({ code: 'EINVAL' });
    } finally {
      d.dispose();
    }
  }, 300_000);
});
