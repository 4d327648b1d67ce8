/**
 * `laa-native robustness`: a real/fake set rescored under a ladder of degradations applied to every decoded
 * frame (native/synthesis/degrade.h: H.264 is a per-frame libx264 intra re-encode, not a re-encode of the
 * whole stream), with the video AUC per degradation and level, as a table and a PNG plot.
 */
import * as fs from 'node:fs';
import { checkFunction, checkSignal, invalidArgument, LaaError } from '../binding/errors';
import { Detector } from '../detect/detector';
import { checkFrames } from '../model/defaults';
import type { Degradation } from '../model/types';
import { renderDrawing, type DrawOp, type Rgb } from '../report/encode';
import { listMediaFiles } from './evaluate';
import { binaryMetrics, type BinaryMetrics } from './metrics';

export interface RobustnessStep {
  kind: string;
  /** The levels, mildest first, and the degradation each means. */
  levels: number[];
  perturb: (level: number) => Degradation;
  unit: string;
}

/** The ladder of issue #24: H.264 CRF, JPEG quality, downscale, Gaussian blur σ, Gaussian noise σ. */
export const ROBUSTNESS_LADDER: readonly RobustnessStep[] = [
  { kind: 'h264', unit: 'CRF', levels: [23, 30, 35, 40], perturb: (l) => ({ h264Crf: l }) },
  { kind: 'jpeg', unit: 'quality', levels: [90, 50, 30], perturb: (l) => ({ jpegQuality: l }) },
  { kind: 'downscale', unit: 'x', levels: [2, 4], perturb: (l) => ({ downscale: l }) },
  { kind: 'blur', unit: 'sigma px', levels: [1, 2, 3], perturb: (l) => ({ blurSigma: l }) },
  { kind: 'noise', unit: 'sigma', levels: [0.02, 0.05], perturb: (l) => ({ noiseSigma: l }) },
];

export interface RobustnessOptions {
  real: string | string[];
  fake: string | string[];
  /** A Detector to score with (its model is measured). Default: one on the bundled model. */
  detector?: Detector;
  /** Frames per video. Default 32. */
  frames?: number;
  /** Only these kinds of the ladder (e.g. ['h264']). Default: all. */
  kinds?: string[];
  signal?: AbortSignal;
  onProgress?: (p: { kind: string; level: number | null; done: number; total: number }) => void;
}

export interface RobustnessRow {
  kind: string;
  /** null for the clean row. */
  level: number | null;
  unit: string;
  video: BinaryMetrics;
  /** Files that gave no score under this degradation. */
  failed: number;
}

export interface RobustnessReport {
  model: { name: string; source: string };
  frames: number;
  rows: RobustnessRow[];
}

export async function robustness(options: RobustnessOptions): Promise<RobustnessReport> {
  if (!options || typeof options !== 'object') throw invalidArgument('options', '{ real, fake, ... }', options);
  const frames = checkFrames('options.frames', options.frames);
  const real = listMediaFiles(options.real, 'real');
  const fake = listMediaFiles(options.fake, 'fake');
  if (!real.length || !fake.length) throw new LaaError('EINVAL', `Expected real and fake files but found ${real.length} real and ${fake.length} fake`);
  const signal = checkSignal('options.signal', options.signal);
  const onProgress = checkFunction<NonNullable<RobustnessOptions['onProgress']>>('options.onProgress', options.onProgress);
  if (options.detector !== undefined && !(options.detector instanceof Detector)) throw invalidArgument('options.detector', 'a Detector', options.detector);
  const steps = options.kinds ? ROBUSTNESS_LADDER.filter((s) => options.kinds!.includes(s.kind)) : ROBUSTNESS_LADDER;
  if (options.kinds && steps.length !== options.kinds.length)
    throw invalidArgument('options.kinds', `kinds among ${ROBUSTNESS_LADDER.map((s) => s.kind).join(', ')}`, options.kinds);
  const detector = options.detector ?? (await Detector.create());
  const conditions: Array<{ kind: string; level: number | null; unit: string; perturb?: Degradation }> = [
    { kind: 'clean', level: null, unit: '' },
    ...steps.flatMap((s) => s.levels.map((level) => ({ kind: s.kind, level, unit: s.unit, perturb: s.perturb(level) }))),
  ];
  const files = [...real.map((f) => ({ f, label: 0 })), ...fake.map((f) => ({ f, label: 1 }))];
  const rows: RobustnessRow[] = [];
  try {
    let done = 0;
    for (const c of conditions) {
      const labels: number[] = [], scores: number[] = [];
      let failed = 0;
      for (const { f, label } of files) {
        try {
          const r = await detector.scoreVideo(f, { frames, signal, ...(c.perturb ? { perturb: c.perturb } : {}) });
          labels.push(label);
          scores.push(r.score);
        } catch (err) {
          if ((err as LaaError).code === 'ABORT_ERR') throw err;
          failed++;
        }
      }
      rows.push({ kind: c.kind, level: c.level, unit: c.unit, video: binaryMetrics(labels, scores), failed });
      onProgress?.({ kind: c.kind, level: c.level, done: ++done, total: conditions.length });
    }
  } finally {
    if (!options.detector) detector.dispose();
  }
  const m = detector.model;
  return { model: { name: m.metadata.model_name ?? m.source.split(/[\\/]/).pop()!, source: m.source }, frames, rows };
}

/** The table `laa-native robustness` prints. */
export function formatRobustnessTable(r: RobustnessReport): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  let out = `model: ${r.model.name}, ${r.frames} frames per video\n${'degradation'.padEnd(22)} ${'AUC'.padStart(6)} ${'AP'.padStart(6)} ${'n'.padStart(4)} failed\n`;
  for (const row of r.rows) {
    const name = row.level === null ? 'none (clean)' : `${row.kind} ${row.level}${row.unit === 'x' ? 'x' : ` ${row.unit}`}`;
    out += `${name.padEnd(22)} ${f(row.video.auc).padStart(6)} ${f(row.video.ap).padStart(6)} ${String(row.video.n).padStart(4)} ${row.failed}\n`;
  }
  return out;
}

const COLOURS: Rgb[] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189]];
const INK: Rgb = [30, 30, 30], GRID: Rgb = [232, 232, 232], GREY: Rgb = [160, 160, 160];

/** One panel per kind of degradation: video AUC against level (the clean AUC as level 0), 0.5 dashed. */
export async function writeRobustnessPng(r: RobustnessReport, file: string): Promise<void> {
  const kinds = [...new Set(r.rows.filter((x) => x.level !== null).map((x) => x.kind))];
  const clean = r.rows.find((x) => x.level === null);
  const PW = 220, PH = 220, left = 50, top = 60, gap = 30;
  const W = left + kinds.length * (PW + gap), H = top + PH + 70;
  const ops: DrawOp[] = [];
  const line = (xy: number[], color: Rgb, thickness = 1): DrawOp => ({ kind: 'polyline', points: Float64Array.from(xy), color, thickness });
  kinds.forEach((kind, k) => {
    const rows = r.rows.filter((x) => x.kind === kind);
    const x0 = left + k * (PW + gap);
    const n = rows.length;
    const px = (i: number) => x0 + (i / n) * PW; // i = 0: clean
    const py = (auc: number) => top + PH - auc * PH;
    for (let v = 0; v <= 1.0001; v += 0.25) {
      ops.push(line([x0, py(v), x0 + PW, py(v)], GRID));
      if (k === 0) ops.push({ kind: 'text', text: v.toFixed(2), x: x0 - 6, y: py(v) + 4, align: 'right', scale: 0.38, color: INK });
    }
    for (let t = 0; t < PW; t += 8) ops.push(line([x0 + t, py(0.5), x0 + t + 4, py(0.5)], GREY));
    ops.push({ kind: 'rect', x: x0, y: top, width: PW, height: PH, color: INK });
    const pts: number[] = [];
    const all = [{ level: 'clean', auc: clean?.video.auc ?? NaN }, ...rows.map((x) => ({ level: String(x.level), auc: x.video.auc }))];
    all.forEach((p, i) => {
      if (Number.isFinite(p.auc)) {
        pts.push(px(i) + PW / (2 * n), py(p.auc));
        ops.push({ kind: 'rect', x: px(i) + PW / (2 * n) - 3, y: py(p.auc) - 3, width: 6, height: 6, color: COLOURS[k % COLOURS.length], thickness: -1 });
      }
      ops.push({ kind: 'text', text: p.level, x: px(i) + PW / (2 * n), y: top + PH + 16, align: 'center', scale: 0.35, color: INK });
    });
    if (pts.length >= 4) ops.push(line(pts, COLOURS[k % COLOURS.length], 2));
    ops.push({ kind: 'text', text: `${kind} (${rows[0]?.unit ?? ''})`, x: x0 + PW / 2, y: top - 10, align: 'center', scale: 0.45, color: INK });
  });
  ops.push({ kind: 'text', text: `video AUC under degradations - ${r.model.name}`.replace(/[^\x20-\x7e]/g, '?'), x: W / 2, y: 24, align: 'center', scale: 0.55, thickness: 1, color: INK });
  ops.push({ kind: 'text', text: 'level (clean first); dashed: chance', x: W / 2, y: H - 16, align: 'center', scale: 0.4, color: GREY });
  const png = await renderDrawing({ width: W, height: H, background: [255, 255, 255], ops }, 'png');
  try {
    await fs.promises.writeFile(file, png);
  } catch (err) {
    throw new LaaError('ENOENT', `cannot write '${file}': ${(err as Error).message}`, { cause: err });
  }
}
