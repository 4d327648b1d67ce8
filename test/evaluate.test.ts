// Evaluation (issue #4 part 7): two real and two fake clips of the dev-eval set
// (test/fixtures/dev-eval-mini), scored with untrained reference weights: the
// numbers mean nothing, the plumbing is what is checked (labels, per-file and
// per-frame scores, metrics, failures, the CLI's JSON and its ROC PNG).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, LaaNet, evaluate, metrics, writeRocPng, type EvalReport } from '../src';
import { formatEvalTable } from '../src/cli/eval';
import { renderDrawing } from '../src/report/encode';
import { repoRoot, tmpDir } from './support/paths';

const mini = path.join(repoRoot, 'test/fixtures/dev-eval-mini');
const dir = tmpDir('evaluate');
const bogus = path.join(dir, 'not-a-video.mp4');
let net: LaaNet;
let detector: Detector;
let report: EvalReport;

/** Width and height from a PNG's IHDR, after checking the signature and the chunk's CRC. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.toString('ascii', 12, 16)).toBe('IHDR');
  let c = ~0;
  for (const byte of b.subarray(12, 12 + 4 + 13)) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  expect(b.readUInt32BE(29)).toBe(~c >>> 0);
  expect(b.toString('ascii', b.length - 8, b.length - 4)).toBe('IEND');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

beforeAll(async () => {
  fs.writeFileSync(bogus, 'this is text, not a video\n');
  net = await LaaNet.reference();
  detector = await Detector.create({ weights: net });
  report = await evaluate({ detector, real: path.join(mini, 'real'), fake: [path.join(mini, 'fake'), bogus], frames: 4 });
}, 300_000);
afterAll(() => {
  detector?.dispose();
  net?.dispose();
});

describe('evaluate', () => {
  it('labels every file by its folder and scores it as the detector does', async () => {
    expect(report.items.map((i) => [path.relative(mini, i.path), i.label])).toEqual([
      ['real/Keanu_Reeves_0__left_real.mp4', 0],
      ['real/Kim_Jarrey_1__left_real.mp4', 0],
      ['fake/Keanu_Reeves_0__right_fake.mp4', 1],
      ['fake/Kim_Jarrey_1__right_fake.mp4', 1],
    ]);
    for (const item of report.items) {
      expect(item.framesSampled).toBe(4);
      expect(item.frames.length).toBeGreaterThan(0);
      expect(item.score).toBeCloseTo(1 / (1 + Math.exp(-item.logit)), 12);
    }
    const direct = await detector.scoreVideo(report.items[2].path, { frames: 4 });
    expect(report.items[2].score).toBe(direct.score);
    expect(report.items[2].frames).toEqual(direct.frames.flatMap((f) => (f.noFace ? [] : [f.score])));
  });

  it('computes video- and frame-level metrics from those scores', () => {
    const { items } = report;
    expect(report.video).toMatchObject({ n: 4, nReal: 2, nFake: 2 });
    const nFrames = items.reduce((n, i) => n + i.frames.length, 0);
    expect(report.frame).toMatchObject({ n: nFrames, nReal: items[0].frames.length + items[1].frames.length });
    for (const level of [report.video, report.frame])
      for (const k of ['auc', 'ap', 'accuracy', 'eer', 'macroRecall'] as const) {
        expect(level[k]).toBeGreaterThanOrEqual(0);
        expect(level[k]).toBeLessThanOrEqual(1);
      }
    expect(report.video).toEqual(metrics.binaryMetrics(items.map((i) => i.label), items.map((i) => i.score)));
    expect(report.frame.auc).toBe(metrics.rocAuc(items.flatMap((i) => i.frames.map(() => i.label)), items.flatMap((i) => i.frames)));
    expect(report.model).toMatchObject({ untrained: true, dtype: 'float32' });
    expect(report.settings).toMatchObject({ frames: 4, threshold: 0.5 });
  });

  it('lists files that cannot be scored with their code, outside the metrics', () => {
    expect(report.failed).toEqual([{ path: bogus, label: 1, code: 'EUNSUPPORTED', message: expect.any(String) }]);
  });

  it('refuses missing folders and a file in both classes', async () => {
    await expect(evaluate({ detector, real: path.join(mini, 'nope'), fake: path.join(mini, 'fake') })).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('nope') });
    await expect(evaluate({ detector, real: path.join(mini, 'fake'), fake: path.join(mini, 'fake') })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('both real and fake') });
    await expect(evaluate({ detector, real: mini, fake: [], frames: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('writes the ROC curves as a PNG of the requested size', async () => {
    const file = path.join(dir, 'api-roc.png');
    await writeRocPng(report, file, { width: 500, height: 420 });
    expect(pngSize(file)).toEqual({ width: 500, height: 420 });
    await expect(writeRocPng(report, file, { width: 100 })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('100 x 600') });
  });

  it('the drawing binding refuses bad commands with what it expected and received', async () => {
    await expect(renderDrawing({ width: 0.5, height: 10, ops: [] })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('received 0.5 x 10') });
    await expect(renderDrawing({ width: 10, height: 10, ops: [{ kind: 'circle' } as never] })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining("received 'circle'") });
    await expect(renderDrawing({ width: 10, height: 10, ops: [{ kind: 'polyline', points: new Float64Array([1, 2]) }] })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('received 2 numbers') });
    await expect(renderDrawing({ width: 10, height: 10, ops: [] }, 'gif' as never)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('laa-native eval', () => {
  it('prints the report as JSON and writes roc.png (shorthand: a folder with real/ and fake/)', () => {
    const roc = path.join(dir, 'cli-roc.png');
    fs.rmSync(roc, { force: true });
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), 'eval', mini, '--frames', '1', '--json', '--roc', roc, '--weights', 'untrained'], { encoding: 'utf8' });
    expect(r.stderr).toContain('UNTRAINED');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as EvalReport;
    expect(out.video).toMatchObject({ n: 4, nReal: 2, nFake: 2 });
    expect(out.items.every((i) => i.frames.length <= 1 && i.label === (i.path.includes(`${path.sep}fake${path.sep}`) ? 1 : 0))).toBe(true);
    expect(out.failed).toEqual([]);
    expect(pngSize(roc)).toEqual({ width: 640, height: 600 });
  });

  it('prints a table (format checked on the report above); usage errors exit 2', () => {
    const table = formatEvalTable(report);
    expect(table).toMatch(/^level\s+n\s+real\s+fake\s+AUC\s+AP\s+ACC\s+EER\n/);
    expect(table).toMatch(new RegExp(`^video\\s+4\\s+2\\s+2\\s+${report.video.auc.toFixed(4)}\\s+${report.video.ap.toFixed(4)}\\s+${report.video.accuracy.toFixed(4)}\\s+${report.video.eer.toFixed(4)}$`, 'm'));
    expect(table).toMatch(new RegExp(`^frame\\s+${report.frame.n}\\s+${report.frame.nReal}\\s+${report.frame.nFake}\\s`, 'm'));
    expect(table).toContain(`scored 4/5 files`);
    expect(table).toMatch(/not-a-video\.mp4 {2}\[EUNSUPPORTED\]/);
    const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), ...args], { encoding: 'utf8' });
    expect(cli(['eval', '--real', mini]).status).toBe(2);
    expect(cli(['eval', mini, '--real', mini]).status).toBe(2);
  });
});
