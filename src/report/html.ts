/**
 * The HTML report of one scored file: a single self-contained page (inline
 * CSS and SVG, images as data: URIs, a Content-Security-Policy that forbids
 * any other source) with the verdict, a per-frame timeline, face crops with
 * their artifact heatmaps, and the model and settings used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameWithFace, ScoreResult } from '../model/results';
import { invalidArgument, LaaError, checkPath } from '../binding/errors';
import { DEFAULT_MODEL_CAVEAT, DEFAULT_MODEL_NAME } from '../model/bundled';
import type { ModelInfo } from '../model/laanet';
import { encodeHeatmapOverlay, type ImageFormat } from './encode';
import { versions } from '../binding/versions';

export interface ReportOptions {
  /** The model that scored the file (Detector.report passes its own): adds device, parameters, metadata. */
  model?: ModelInfo;
  /** Face crops shown, sampled evenly over the frames that have a heatmap (default 12). */
  maxCrops?: number;
  /** Encoding of the crop images (default 'jpg'). */
  imageFormat?: ImageFormat;
  /** Page title (default: the file's name). */
  title?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Round numbers for axis ticks: about `count` steps of 1, 2 or 5 × 10^k. */
function ticks(max: number, count: number): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The timeline: P(fake) per sampled frame (largest face), the threshold, frames without a face marked. */
function timelineSvg(r: ScoreResult): string {
  const W = 960, H = 280, left = 56, right = 20, top = 16, bottom = 44;
  const useTime = r.media.isVideo && r.frames.some((f) => f.timeSec > 0);
  const xOf = (f: { index: number; timeSec: number }) => (useTime ? f.timeSec : f.index);
  const xMax = Math.max(useTime ? r.media.durationSec : r.media.frameCount - 1, ...r.frames.map(xOf), useTime ? 1e-3 : 1);
  const px = (x: number) => left + (x / xMax) * (W - left - right);
  const py = (p: number) => top + (1 - p) * (H - top - bottom);
  const faced = r.frames.filter((f): f is FrameWithFace => !f.noFace);
  const out: string[] = [];
  out.push(`<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="P(fake) per sampled frame">`);
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${py(p).toFixed(2)}" y2="${py(p).toFixed(2)}"/>`);
    out.push(`<text class="tick" x="${left - 8}" y="${(py(p) + 4).toFixed(2)}" text-anchor="end">${p.toFixed(2)}</text>`);
  }
  for (const t of ticks(xMax, 8)) {
    out.push(`<line class="axis" x1="${px(t).toFixed(2)}" x2="${px(t).toFixed(2)}" y1="${H - bottom}" y2="${H - bottom + 5}"/>`);
    out.push(`<text class="tick" x="${px(t).toFixed(2)}" y="${H - bottom + 19}" text-anchor="middle">${escapeHtml(Number(t.toPrecision(6)))}</text>`);
  }
  out.push(`<text class="label" x="${(left + W - right) / 2}" y="${H - 6}" text-anchor="middle">${useTime ? 'time (s)' : 'frame'}</text>`);
  out.push(`<rect class="frame" x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}"/>`);
  for (const f of r.frames) {
    if (!f.noFace) continue;
    const x = px(xOf(f)).toFixed(2);
    out.push(
      `<g class="noface-marker" data-frame="${f.index}"><title>frame ${f.index} (${f.timeSec.toFixed(2)} s): no face</title>` +
        `<line x1="${x}" x2="${x}" y1="${top}" y2="${H - bottom}"/><text x="${x}" y="${H - bottom - 6}" text-anchor="middle">×</text></g>`,
    );
  }
  const y = py(r.threshold).toFixed(2);
  out.push(`<line id="threshold-line" x1="${left}" x2="${W - right}" y1="${y}" y2="${y}"/>`);
  const pts = faced.map((f) => `${px(xOf(f)).toFixed(2)},${py(f.score).toFixed(2)}`).join(' ');
  out.push(`<polyline id="timeline-line" points="${pts}"/>`);
  for (const f of faced)
    out.push(
      `<circle class="frame-point${f.score >= r.threshold ? ' fake' : ''}" data-frame="${f.index}" data-score="${f.score}" cx="${px(xOf(f)).toFixed(2)}" cy="${py(f.score).toFixed(2)}" r="4">` +
        `<title>frame ${f.index} (${f.timeSec.toFixed(2)} s): P(fake) ${fmt(f.score)}</title></circle>`,
    );
  // The label goes on the side of the threshold line where the points are not, drawn last with a halo.
  const dataAbove = faced.length > 0 && faced.reduce((s, f) => s + f.score, 0) / faced.length >= r.threshold;
  out.push(`<text class="threshold" x="${W - right - 6}" y="${(py(r.threshold) + (dataAbove ? 16 : -6)).toFixed(2)}" text-anchor="end">threshold ${escapeHtml(r.threshold)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Up to `max` frames with a crop and heatmap, evenly spread. */
function sampleCrops(r: ScoreResult, max: number): FrameWithFace[] {
  const all = r.frames.filter((f): f is FrameWithFace => !f.noFace && !!f.crop && !!f.heatmap);
  if (all.length <= max) return all;
  const picked = new Set<number>();
  for (let k = 0; k < max; k++) picked.add(Math.round((k * (all.length - 1)) / Math.max(max - 1, 1)));
  return [...picked].map((i) => all[i]);
}

function table(rows: Array<[string, unknown]>, id: string): string {
  return `<table id="${id}">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1e1e1e;padding:0 16px}
h1{font-size:20px;word-break:break-all}h2{font-size:16px;margin-top:28px}
#verdict{display:inline-block;font-size:26px;font-weight:700;padding:4px 14px;border-radius:6px;color:#fff}
#verdict.fake{background:#c62828}#verdict.real{background:#2e7d32}
#band{font-size:16px;padding:8px 12px;border-left:5px solid #999;background:#f6f6f6}#band.likely-fake{border-color:#c62828}#band.uncertain{border-color:#ef6c00}#band.likely-real{border-color:#2e7d32}
#score{font-size:20px;margin-left:14px}.note{background:#fff3cd;border:1px solid #e0c36b;padding:8px 12px;border-radius:4px}
svg{max-width:100%;height:auto}.grid{stroke:#e8e8e8}.axis{stroke:#555}.frame{fill:none;stroke:#555}
.tick,.label,.threshold{font-size:12px;fill:#444}.threshold{paint-order:stroke;stroke:#fff;stroke-width:3px}#threshold-line{stroke:#c62828;stroke-dasharray:6 4}
#timeline-line{fill:none;stroke:#1f77b4;stroke-width:2}.frame-point{fill:#1f77b4}.frame-point.fake{fill:#c62828}
.noface-marker line{stroke:#999;stroke-dasharray:2 3}.noface-marker text{font-size:13px;fill:#777}
#crops{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:180px;font-size:12px}figure img{width:180px;height:180px;display:block;border-radius:3px}
table{border-collapse:collapse;font-size:13px}th{text-align:left;font-weight:600;padding:2px 16px 2px 0;vertical-align:top}td{padding:2px 0;word-break:break-all}
.legend span{display:inline-block;margin-right:16px;font-size:13px}`;

/** The report page of a scored file, as an HTML string. */
export async function renderReport(result: ScoreResult, options: ReportOptions = {}): Promise<string> {
  if (!result || !Array.isArray(result.frames) || typeof result.score !== 'number')
    throw invalidArgument('result', 'a ScoreResult (from Detector.scoreVideo or scoreImage)', result);
  const maxCrops = options.maxCrops ?? 12;
  if (!Number.isInteger(maxCrops) || maxCrops < 0 || maxCrops > 1000) throw invalidArgument('options.maxCrops', 'an integer from 0 to 1000', maxCrops);
  const format = options.imageFormat ?? 'jpg';
  const r = result;
  const crops = sampleCrops(r, maxCrops);
  const images = await Promise.all(crops.map((f) => encodeHeatmapOverlay(f.crop!, f.heatmap!, format)));
  const mime = format === 'png' ? 'image/png' : 'image/jpeg';
  const v = versions();
  const model = options.model;
  const noFace = r.frames.filter((f) => f.noFace).length;
  const title = options.title ?? path.basename(r.file);

  const cropHtml = crops.length
    ? `<div id="crops">${crops
        .map(
          (f, k) =>
            `<figure class="crop" data-frame="${f.index}"><img class="heatmap" alt="frame ${f.index}: face crop with its artifact heatmap" src="data:${mime};base64,${images[k].toString('base64')}">` +
            `<figcaption>frame ${f.index} · ${f.timeSec.toFixed(2)} s · P(fake) ${fmt(f.score)}</figcaption></figure>`,
        )
        .join('\n')}</div>`
    : `<p class="note" id="no-crops">${r.frames.some((f) => !f.noFace && f.crop) || r.facesFound === 0 ? 'No face crops to show.' : 'Scored without heatmaps: score with { heatmaps: true } (CLI: --report sets it) to see the face crops and their artifact heatmaps.'}</p>`;

  const settings: Array<[string, unknown]> = [
    ['file', r.file],
    ['media', r.media.isVideo ? `${r.media.width}×${r.media.height}, ${fmt(r.media.fps, 2)} fps, ${fmt(r.media.durationSec, 2)} s, ${r.media.frameCount} frames` : `image ${r.media.width}×${r.media.height}`],
    ['frames sampled', `${r.framesSampled} (${r.framesSampled - noFace} with a face, ${noFace} without)`],
    ['faces', `${r.facesFound} found; ${r.people ? `every face scored, ${r.people.length} people (the file scores as the most fake person)` : 'the largest face of each frame scored'}`],
    ['threshold', r.threshold],
    ['verdict', r.calibration ? `${r.verdict}: uncertain above ${fmt(r.calibration.uncertain)}, likely-fake above ${fmt(r.calibration.likelyFake)} (set on ${r.calibration.reference}; ${r.calibration.references} scores)` : `${r.verdict} (the model carries no calibration on real videos: the threshold decides)`],
    ['video score', 'sigmoid of the mean flip-averaged logit over the frames (as the official scripts/test.py)'],
    ['weights', model?.source ?? r.model.source],
    ['untrained', r.model.untrained ? 'yes: deterministic fill-rule weights, the score is meaningless' : 'no'],
    ['dtype', model?.dtype ?? r.model.dtype],
    ...(model ? ([['device', model.device], ['parameters', model.parameters.toLocaleString('en-US')], ...Object.entries(model.metadata).map(([k, val]) => [`metadata: ${k}`, val])] as Array<[string, unknown]>) : []),
    ['timings', `decode ${r.timings.decodeMs.toFixed(0)} ms, detect ${r.timings.detectMs.toFixed(0)} ms, crop ${r.timings.cropMs.toFixed(0)} ms, infer ${r.timings.inferMs.toFixed(0)} ms, total ${r.timings.totalMs.toFixed(0)} ms`],
    ['versions', `laa-native ${v.laaNative}, LibTorch ${v.libtorch}, OpenCV ${v.opencv}, dlib ${v.dlib}, Node ${v.node}`],
    ['generated', new Date().toISOString()],
  ];

  const people = r.people?.length
    ? `<h2>People</h2><table id="people"><tr><th>person</th><th>faces</th><th>P(fake)</th></tr>${r.people
        .map((p) => `<tr><td>${p.id}</td><td>${p.faces}</td><td>${fmt(p.score)}</td></tr>`)
        .join('')}</table>`
    : '';

  const frameRows = r.frames
    .map((f) => `<tr><td>${f.index}</td><td>${f.timeSec.toFixed(2)}</td><td>${f.noFace ? 'no face' : fmt(f.score)}</td><td>${f.noFace ? '' : f.facesFound}</td></tr>`)
    .join('');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="laa-native ${escapeHtml(v.laaNative)}">
<title>${escapeHtml(title)} · laa-native report</title>
<style>${STYLE}</style>
</head>
<body>
<h1 id="file">${escapeHtml(title)}</h1>
${r.model.name === DEFAULT_MODEL_NAME ? `<p class="note" id="demo-model">Scored with <b>${DEFAULT_MODEL_NAME}</b>, ${escapeHtml(DEFAULT_MODEL_CAVEAT)}.</p>` : ''}
${r.model.untrained ? '<p class="note" id="untrained">These weights are <b>untrained</b> (deterministic fill-rule weights for tests and demos): the score below is meaningless. Score with an official LAA-Net checkpoint for a real verdict.</p>' : ''}
<p><span id="verdict" class="${r.label}">${r.label.toUpperCase()}</span><span id="score">P(fake) = <b id="score-value" data-score="${r.score}">${fmt(r.score)}</b> at threshold ${escapeHtml(r.threshold)}</span></p>
<p id="band" class="band ${escapeHtml(r.verdict ?? '')}" data-verdict="${escapeHtml(r.verdict ?? '')}"${r.percentile !== undefined ? ` data-percentile="${r.percentile}"` : ''}>${escapeHtml(r.explanation ?? '')}</p>
<h2>Timeline</h2>
<p class="legend"><span>● P(fake) of the largest face per sampled frame (red: at or above the threshold)</span><span>– – threshold</span><span>× no face found</span></p>
${timelineSvg(r)}
<h2>Face crops and artifact heatmaps</h2>
${cropHtml}
${people}
<h2>Model and settings</h2>
${table(settings, 'settings')}
<details><summary>Every sampled frame</summary><table id="frames"><tr><th>frame</th><th>time (s)</th><th>P(fake)</th><th>faces</th></tr>${frameRows}</table></details>
</body>
</html>
`;
}

/** Writes the self-contained HTML report of a scored file (see renderReport). */
export async function writeReport(result: ScoreResult, file: string, options: ReportOptions = {}): Promise<void> {
  checkPath('file', file);
  const html = await renderReport(result, options);
  try {
    await fs.promises.writeFile(file, html);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LaaError(code === 'ENOENT' ? 'ENOENT' : 'EINVAL', `cannot write '${file}': ${(err as Error).message}`, { cause: err });
  }
}
