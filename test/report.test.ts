// The HTML report of a scored video (issue #6 part 4), opened in headless
// Chromium (Debian's `chromium`, driven by playwright-core): the verdict and
// score, the timeline plot, the heatmap crops, escaping, and no network.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_CAVEAT, DEFAULT_MODEL_NAME } from '../src/model/bundled';
import { Detector, LaaNet, renderReport, writeReport, type FrameResult, type ScoreResult } from '../src';
import { repoRoot, tmpDir } from './support/paths';

const CHROMIUM = '/usr/bin/chromium';
const clip = path.join(repoRoot, 'test/fixtures/media/talking-head-2.mp4');
const dir = tmpDir('report');
let net: LaaNet;
let detector: Detector;
let result: ScoreResult;
let browser: Browser | undefined;

/** Opens a report over file:// and records every URL the page asks for. */
async function open(file: string): Promise<{ page: Page; requests: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const requests: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, requests };
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Chromium is missing (${CHROMIUM}): run \`bash scripts/install-system-deps.sh --test\` (it installs Debian's chromium package)`);
  net = await LaaNet.reference();
  detector = await Detector.create({ weights: net });
  result = await detector.scoreVideo(clip, { frames: 5, heatmaps: true });
  // The browser gets the environment without the sanitizer runtimes a sanitized run preloads into Node.
  const { LD_PRELOAD: _preload, ...env } = process.env;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], env });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  detector?.dispose();
  net?.dispose();
});

describe('HTML report in Chromium', () => {
  it('shows the score, the timeline and every heatmap crop, from file: and data: only; saves a screenshot', async () => {
    const file = path.join(dir, 'report.html');
    await detector.report(result, file);
    const { page, requests } = await open(file);
    try {
      expect(await page.textContent('#verdict')).toBe(result.label.toUpperCase());
      expect(await page.textContent('#score-value')).toBe(result.score.toFixed(4));
      expect(Number(await page.getAttribute('#score-value', 'data-score'))).toBe(result.score);

      const faced = result.frames.filter((f) => !f.noFace);
      expect(faced.length).toBe(5);
      const points = (await page.getAttribute('#timeline-line', 'points'))!.trim().split(/\s+/);
      expect(points.length).toBe(faced.length);
      expect(await page.locator('circle.frame-point').count()).toBe(faced.length);
      const box = await page.evaluate(() => {
        const line = document.querySelector('#timeline-line') as SVGPolylineElement;
        const b = line.getBBox();
        const r = document.querySelector('#timeline')!.getBoundingClientRect();
        return { w: b.width, h: b.height, svgW: r.width, svgH: r.height };
      });
      expect(box.w).toBeGreaterThan(0);
      expect(box.svgW).toBeGreaterThan(0);
      expect(box.svgH).toBeGreaterThan(0);
      // Points run left to right in frame order, at height P(fake) inside the plot frame.
      const xy = points.map((p) => p.split(',').map(Number));
      for (let k = 1; k < xy.length; k++) expect(xy[k][0]).toBeGreaterThan(xy[k - 1][0]);
      const plot = { y: Number(await page.getAttribute('rect.frame', 'y')), h: Number(await page.getAttribute('rect.frame', 'height')) };
      expect(plot.h).toBeGreaterThan(100);
      faced.forEach((f, k) => expect(Math.abs(xy[k][1] - (plot.y + (1 - f.score) * plot.h))).toBeLessThanOrEqual(0.006));
      expect(Number(await page.getAttribute('#threshold-line', 'y1'))).toBeCloseTo(plot.y + (1 - result.threshold) * plot.h, 2);

      const imgs = await page.$$eval('img.heatmap', (list) => list.map((i) => ({ w: (i as HTMLImageElement).naturalWidth, h: (i as HTMLImageElement).naturalHeight, src: (i as HTMLImageElement).src.slice(0, 23) })));
      expect(imgs.length).toBe(faced.length);
      for (const img of imgs) expect(img).toEqual({ w: 384, h: 384, src: 'data:image/jpeg;base64,' });

      expect(await page.textContent('#settings')).toContain(net.info.source);
      expect(requests.length).toBeGreaterThan(0);
      for (const url of requests) expect(url).toMatch(/^(file|data):/);
      await page.screenshot({ path: path.join(repoRoot, 'test/.tmp/report.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('marks frames without a face on the timeline and escapes file names', async () => {
    const name = `<img src=x onerror=alert(1)>&"quoted" 'clip'.mp4`;
    const frames: FrameResult[] = result.frames.map((f, k) => (k === 2 ? { index: f.index, timeSec: f.timeSec, noFace: true } : f));
    const edited: ScoreResult = { ...result, file: path.join(dir, name), frames };
    const file = path.join(dir, 'escaped.html');
    await writeReport(edited, file, { maxCrops: 3 });
    const { page, requests } = await open(file);
    try {
      expect(await page.textContent('h1')).toBe(name);
      expect(await page.title()).toContain(name);
      expect(await page.locator('img:not(.heatmap)').count()).toBe(0);
      expect(await page.locator('g.noface-marker').count()).toBe(1);
      expect(await page.getAttribute('g.noface-marker', 'data-frame')).toBe(String(frames[2].index));
      expect((await page.getAttribute('#timeline-line', 'points'))!.trim().split(/\s+/).length).toBe(4);
      expect(await page.locator('img.heatmap').count()).toBe(3);
      for (const url of requests) expect(url).toMatch(/^(file|data):/);
    } finally {
      await page.close();
    }
  });
});

describe('renderReport', () => {
  it('says how to get crops when the file was scored without heatmaps', async () => {
    const plain: ScoreResult = { ...result, frames: result.frames.map((f) => (f.noFace ? f : { ...f, crop: undefined, heatmap: undefined })) };
    const html = await renderReport(plain);
    expect(html).toContain('id="no-crops"');
    expect(html).toContain('heatmaps: true');
    expect(html).not.toContain('data:image');
    expect(html).toContain("default-src 'none'");
  });

  it('tells the reader when the bundled demo model scored the file', async () => {
    expect(await renderReport(result)).not.toContain('id="demo-model"');
    const html = await renderReport({ ...result, model: { ...result.model, name: DEFAULT_MODEL_NAME, untrained: false } });
    expect(html).toContain('id="demo-model"');
    expect(html).toContain(DEFAULT_MODEL_CAVEAT.slice(0, 40));
  });
});

describe('laa-native score --report', () => {
  it('scores with heatmaps and writes the report of the file', () => {
    const file = path.join(dir, 'cli.html');
    fs.rmSync(file, { force: true });
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), 'score', clip, '--frames', '2', '--json', '--report', file, '--weights', 'untrained'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout) as { score: number; label: string };
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain(`data-score="${line.score}">${line.score.toFixed(4)}</b>`);
    expect(html).toContain(`>${line.label.toUpperCase()}</span>`);
    expect(html.match(/<img class="heatmap"[^>]* src="data:image\/jpeg;base64,/g)?.length).toBe(2);
  });
});
