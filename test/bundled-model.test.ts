// What the bundled model (models/laa-native-lite0-sbi-256.safetensors) has learnt, on data it never trained on:
// self-blends of people held out of its training (models/prepare-lite-data.sh holds out every 10th person of each
// train-real set) and the real-vs-deepfake dev set. The thresholds sit well below what models/README.md reports
// (held-out self-blend AUC 0.97 over 172 pairs, dev-eval video AUC 0.78 over 22 videos at 32 frames), so that
// float32 or bfloat16 ('auto') and a smaller sample both pass, while an untrained or broken model does not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, evaluateSynthetic, LaaNet, prepare } from '../src';
import { bundledModel, sharedDir, tmpDir } from './support/paths';

const congress = path.join(sharedDir, 'data', 'train-real', 'us-congress-portraits');
const devEval = path.join(sharedDir, 'data', 'dev-eval');
const dir = tmpDir('bundled-model');
let net: LaaNet;

beforeAll(async () => {
  net = await LaaNet.load(bundledModel, { threads: 2 });
}, 120_000);

describe('the bundled model', () => {
  it('separates held-out people from their self-blends (16 people, AUC > 0.85)', async () => {
    // The first 16 held-out people of the Congress set: every 10th in sorted order, as the data recipe splits.
    const people = fs.readdirSync(congress).filter((f) => f.endsWith('.jpg')).sort().filter((_, i) => i % 10 === 0).slice(0, 16);
    const input = path.join(dir, 'heldout');
    fs.rmSync(input, { recursive: true, force: true });
    fs.mkdirSync(input, { recursive: true });
    for (const p of people) fs.symlinkSync(path.join(congress, p), path.join(input, p));
    const output = path.join(dir, 'heldout-prepared');
    fs.rmSync(output, { recursive: true, force: true });
    await prepare({ input, output });
    const r = await evaluateSynthetic({ weights: net, data: output, seed: 7, threads: 2 });
    expect(r.frames).toBeGreaterThanOrEqual(12);
    expect(r.auc).toBeGreaterThan(0.85);
    expect(r.meanFake).toBeGreaterThan(r.meanReal + 0.2);
  }, 300_000);

  it('ranks dev-eval deepfake videos above the real ones (22 videos, 8 frames each, video AUC > 0.65)', async () => {
    const r = await evaluate({ real: [path.join(devEval, 'real')], fake: [path.join(devEval, 'fake')], weights: net, frames: 8 });
    expect(r.video.n).toBe(22);
    expect(r.video.auc).toBeGreaterThan(0.65);
  }, 300_000);
});
