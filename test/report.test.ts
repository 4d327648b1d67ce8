// The HTML report of a scored video (issue #6 part 4), opened in headless
// Chromium (Debian's `chromium`, driven by playwright-core): the verdict and
// score, the timeline plot, the heatmap crops, escaping, and no network.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  net = await LaaNet.reference();
  detector = await Detector.create({ weights: net });
  result = await detector.scoreVideo(clip, { frames: 6, heatmaps: true });
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`Chromium is missing (${CHROMIUM}): run \`bash scripts/install-system-deps.sh --test\` (it installs Debian's chromium package)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
});
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
      expect(faced.length).toBe(6);
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
      // Points run left to right in frame order, and sit at 1 − P(fake) of the plot height.
      const xy = points.map((p) => p.split(',').map(Number));
      for (let k = 1; k < xy.length; k++) expect(xy[k][0]).toBeGreaterThan(xy[k - 1][0]);
      const ys = faced.map((f) => f.score);
      const order = (a: number[]) => a.map((_, i) => i).sort((i, j) => a[i] - a[j]);
      expect(order(xy.map((p) => -p[1]))).toEqual(order(ys));

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
      expect((await page.getAttribute('#timeline-line', 'points'))!.trim().split(/\s+/).length).toBe(5);
      expect(await page.locator('img.heatmap').count()).toBe(3);
      for (const url of requests) expect(url).toMatch(/^(file|data):/);
    } finally {
      await page.close();
    }
  });
});

describe('renderReport', () => {
  it('says how to get crops when the file was scored without heatmaps', async () => {
    const plain = await detector.scoreVideo(clip, { frames: 2 });
    const html = await renderReport(plain);
    expect(html).toContain('id="no-crops"');
    expect(html).toContain('heatmaps: true');
    expect(html).not.toContain('data:image');
    expect(html).toContain("default-src 'none'");
  });
});
