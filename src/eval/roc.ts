/** The ROC plot of an evaluation as a PNG: video-level and frame-level curves, diagonal, AUCs in the legend. */
import * as fs from 'node:fs';
import { invalidArgument, LaaError } from '../binding/errors';
import type { EvalReport } from './evaluate';
import { rocCurve, trapezoidArea, type RocCurve } from './metrics';
import { renderDrawing, type DrawOp, type Rgb } from '../report/encode';

export interface RocPngOptions {
  /** Image size in pixels (default 640 × 600). */
  width?: number;
  height?: number;
  /** P(fake) thresholds to mark on the video curve (the operating point each gives), e.g. a model's verdict thresholds. */
  thresholds?: Array<{ name: string; value: number }>;
}

const VIDEO_COLOUR: Rgb = [31, 119, 180];
const FRAME_COLOUR: Rgb = [255, 127, 14];
const GREY: Rgb = [160, 160, 160];
const GRID: Rgb = [232, 232, 232];
const INK: Rgb = [30, 30, 30];

/** OpenCV's Hershey fonts draw ASCII only. */
const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');

function curves(report: Pick<EvalReport, 'items'>) {
  const items = report.items;
  const video = rocCurve(items.map((i) => i.label), items.map((i) => i.score));
  const frame = rocCurve(items.flatMap((i) => i.frames.map(() => i.label)), items.flatMap((i) => i.frames));
  return { video, frame, nVideo: items.length, nFrame: items.reduce((n, i) => n + i.frames.length, 0) };
}

/** Draws the ROC curves of `report` (video level, and frame level as a second line) into a PNG file. */
export async function writeRocPng(report: Pick<EvalReport, 'items' | 'model'>, file: string, options: RocPngOptions = {}): Promise<void> {
  if (!report || !Array.isArray(report.items)) throw invalidArgument('report', 'an EvalReport (from evaluate())', report);
  if (typeof file !== 'string' || !file) throw invalidArgument('file', 'a file path', file);
  const W = options.width ?? 640;
  const H = options.height ?? 600;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 320 || H < 320 || W > 4096 || H > 4096)
    throw invalidArgument('options.width/height', 'integers from 320 to 4096', `${W} x ${H}`);
  const { video, frame, nVideo, nFrame } = curves(report);

  const left = 64, right = 24, top = 74, bottom = 64;
  const px = (x: number) => left + x * (W - left - right);
  const py = (y: number) => H - bottom - y * (H - top - bottom);
  const line = (xy: number[], color: Rgb, thickness = 1): DrawOp => ({ kind: 'polyline', points: Float64Array.from(xy), color, thickness });
  const ops: DrawOp[] = [];

  for (let k = 0; k <= 5; k++) {
    const v = k / 5;
    if (k > 0 && k < 5) ops.push(line([px(v), py(0), px(v), py(1)], GRID), line([px(0), py(v), px(1), py(v)], GRID));
    ops.push({ kind: 'text', text: v.toFixed(1), x: px(v), y: py(0) + 20, align: 'center', scale: 0.45, color: INK });
    ops.push({ kind: 'text', text: v.toFixed(1), x: px(0) - 8, y: py(v) + 5, align: 'right', scale: 0.45, color: INK });
  }
  // Chance diagonal, dashed.
  for (let t = 0; t < 1; t += 0.04) ops.push(line([px(t), py(t), px(t + 0.02), py(t + 0.02)], GREY));
  ops.push({ kind: 'rect', x: px(0), y: py(1), width: px(1) - px(0), height: py(0) - py(1), color: INK });

  const legend: Array<{ text: string; color: Rgb }> = [];
  const plot = (roc: RocCurve, color: Rgb, what: string, n: number) => {
    const area = trapezoidArea(roc.fpr, roc.tpr);
    if (Number.isNaN(area)) {
      legend.push({ text: `${what}: AUC n/a (${n} ${what === 'video' ? 'files' : 'frames'}, needs both classes)`, color });
      return;
    }
    const xy: number[] = [];
    for (let i = 0; i < roc.fpr.length; i++) xy.push(px(roc.fpr[i]), py(roc.tpr[i]));
    ops.push(line(xy, color, 2));
    legend.push({ text: `${what}: AUC ${area.toFixed(4)} (${n} ${what === 'video' ? 'files' : 'frames'})`, color });
  };
  plot(frame, FRAME_COLOUR, 'frame', nFrame);
  plot(video, VIDEO_COLOUR, 'video', nVideo); // drawn last: on top
  // Thresholds: the video-level operating point of "fake when P(fake) > t", a square and its name.
  const reals = report.items.filter((i) => i.label === 0), fakes = report.items.filter((i) => i.label === 1);
  for (const t of options.thresholds ?? []) {
    if (!reals.length || !fakes.length || !(t.value >= 0 && t.value <= 1)) continue;
    const fpr = reals.filter((i) => i.score > t.value).length / reals.length;
    const tpr = fakes.filter((i) => i.score > t.value).length / fakes.length;
    ops.push({ kind: 'rect', x: px(fpr) - 5, y: py(tpr) - 5, width: 10, height: 10, color: INK, thickness: 2 });
    ops.push({ kind: 'text', text: ascii(`${t.name} (${t.value.toFixed(3)}): FPR ${fpr.toFixed(2)}, TPR ${tpr.toFixed(2)}`), x: px(fpr) + 10, y: py(tpr) + 16, scale: 0.38, color: INK });
  }
  legend.reverse();

  // Hershey simplex at scale 0.42 is about 7.6 px per character: size the box to the longest entry.
  const textWidth = Math.max(...legend.map((l) => l.text.length)) * 7.6;
  const lx = Math.max(px(0.02) + 10, px(1) - textWidth - 48), ly = py(0) - 14 - 22 * (legend.length - 1);
  ops.push({ kind: 'rect', x: lx - 10, y: ly - 18, width: px(1) - lx + 4, height: 22 * legend.length + 8, color: [255, 255, 255], thickness: -1 });
  ops.push({ kind: 'rect', x: lx - 10, y: ly - 18, width: px(1) - lx + 4, height: 22 * legend.length + 8, color: GREY });
  legend.forEach((l, k) => {
    ops.push(line([lx, ly + 22 * k - 5, lx + 26, ly + 22 * k - 5], l.color, 2));
    ops.push({ kind: 'text', text: l.text, x: lx + 34, y: ly + 22 * k, scale: 0.42, color: INK });
  });

  ops.push({ kind: 'text', text: 'ROC', x: W / 2, y: 24, align: 'center', scale: 0.65, thickness: 2, color: INK });
  const model = report.model ? `model: ${report.model.source}${report.model.untrained ? ' (UNTRAINED)' : ''}` : '';
  const fit = Math.floor((W - 24) / 7.4); // characters at scale 0.4
  const half = Math.floor((fit - 3) / 2);
  ops.push({ kind: 'text', text: ascii(model.length > fit ? `${model.slice(0, half)}...${model.slice(-half)}` : model), x: W / 2, y: 44, align: 'center', scale: 0.4, color: GREY });
  ops.push({ kind: 'text', text: 'True positive rate', x: px(0), y: py(1) - 8, scale: 0.45, color: INK });
  ops.push({ kind: 'text', text: 'False positive rate', x: px(0.5), y: H - 18, align: 'center', scale: 0.5, color: INK });

  const png = await renderDrawing({ width: W, height: H, background: [255, 255, 255], ops }, 'png');
  try {
    await fs.promises.writeFile(file, png);
  } catch (err) {
    throw new LaaError('ENOENT', `cannot write '${file}': ${(err as Error).message}`, { cause: err });
  }
}
