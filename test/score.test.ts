// Scoring videos and images end to end (issue #3): frames, faces, crops, the
// flip test, progress, cancellation, bad input, and the CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, Detector, LaaNet, type FrameWithFace } from '../src';
import { DEFAULT_MODEL_CAVEAT } from '../src/model/bundled';
import { bundledModel, repoRoot, tmpDir } from './support/paths';

const clip = path.join(repoRoot, 'examples/media/talking-head.mp4');
const media = (name: string) => path.join(repoRoot, 'test/fixtures/media', name);
const dir = tmpDir('score');
let net: LaaNet;
let detector: Detector;

/** A 24-bit BMP of a smooth gradient: a valid image without a face. */
function writeGradientBmp(file: string, w: number, h: number) {
  const row = Math.ceil((w * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + row * h);
  buf.write('BM', 0);
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) buf.fill((x + y) & 0xff, 54 + y * row + x * 3, 54 + y * row + x * 3 + 3);
  fs.writeFileSync(file, buf);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG whose header declares w×h pixels (no image data): decoding it would need w·h·3 bytes. */
function writePngHeader(file: string, w: number, h: number) {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]));
}

beforeAll(async () => {
  net = await LaaNet.reference();
  detector = await Detector.create({ weights: net });
});
afterAll(() => {
  detector.dispose();
  net.dispose();
});

describe('scoreVideo', () => {
  it('scores a real talking-head clip: one face per sampled frame, video score = sigmoid(mean logit)', async () => {
    const stages = new Map<string, number>();
    const r = await detector.scoreVideo(clip, {
      frames: 6,
      onProgress: (p) => stages.set(p.stage, Math.max(stages.get(p.stage) ?? 0, p.done)),
    });
    expect(r.framesSampled).toBe(6);
    expect(r.facesFound).toBe(6);
    expect(r.media).toMatchObject({ isVideo: true, width: 480, height: 480, frameCount: 216 });
    // np.linspace(0, 215, 6).astype(int): the official frame choice.
    expect(r.frames.map((f) => f.index)).toEqual([0, 43, 86, 129, 172, 215]);
    const faces = r.frames as FrameWithFace[];
    for (const f of faces) {
      expect(f.box.width).toBeGreaterThan(80);
      expect(f.box.x).toBeGreaterThanOrEqual(0);
      expect(f.box.x + f.box.width).toBeLessThanOrEqual(480);
      expect(f.score).toBeCloseTo(1 / (1 + Math.exp(-f.logit)), 12);
    }
    const mean = faces.reduce((a, f) => a + f.logit, 0) / faces.length;
    expect(r.logit).toBeCloseTo(mean, 12);
    expect(r.score).toBeCloseTo(1 / (1 + Math.exp(-mean)), 12);
    expect(r.label).toBe(r.score >= 0.5 ? 'fake' : 'real');
    expect(r.model.untrained).toBe(true);
    expect(Object.fromEntries(stages)).toEqual({ decode: 6, detect: 6, infer: 6 });
    expect(r.timings.inferMs).toBeGreaterThan(0);
    expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.inferMs);
  });

  it('Detector.create() without weights uses the bundled model, crops at its input size and names it', async () => {
    const d = await Detector.create();
    try {
      const r = await d.scoreImage(media('obama-720p.jpg'), { heatmaps: true });
      expect(r.model).toMatchObject({ name: 'laa-native-lite0-sbi-256', untrained: false, inputSize: 256 });
      expect(r.model.source).toBe(bundledModel);
      const f = r.frames[0] as FrameWithFace;
      expect(f.crop?.shape).toEqual([256, 256, 3]);
      expect(f.heatmap?.shape).toEqual([64, 64]);
      expect(r.score).toBeGreaterThan(0);
      expect(r.score).toBeLessThan(1);
    } finally {
      d.dispose();
    }
  });

  it('returns 96×96 heatmaps and the 384×384 crops on request', async () => {
    const r = await detector.scoreVideo(clip, { frames: 1, heatmaps: true });
    const f = r.frames[0] as FrameWithFace;
    expect(f.heatmap!.shape).toEqual([96, 96]);
    expect(f.heatmap!.data.length).toBe(96 * 96);
    expect(Math.min(...f.heatmap!.data)).toBeGreaterThan(0);
    expect(Math.max(...f.heatmap!.data)).toBeLessThan(1);
    expect(f.crop!.data.length).toBe(384 * 384 * 3);
  });

  it('cancels between frames through an AbortSignal', async () => {
    const controller = new AbortController();
    const p = detector.scoreVideo(clip, {
      frames: 32,
      signal: controller.signal,
      onProgress: (e) => e.stage === 'decode' && e.done === 2 && controller.abort(),
    });
    await expect(p).rejects.toBeInstanceOf(AbortError);
    // The detector still works afterwards.
    expect((await detector.scoreVideo(clip, { frames: 1 })).facesFound).toBe(1);
  });

  it('keeps the event loop responsive (p99 delay under 20 ms)', async () => {
    const gaps: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 2);
    await detector.scoreVideo(clip, { frames: 4 });
    clearInterval(timer);
    gaps.sort((a, b) => a - b);
    expect(gaps.length).toBeGreaterThan(50);
    expect(gaps[Math.floor(gaps.length * 0.99)]).toBeLessThan(20);
  });
});

describe('scoreImage', () => {
  it('scores the largest of two faces in a photo', async () => {
    const r = await detector.scoreImage(media('obama-biden-two-faces.jpg'));
    expect(r.media.isVideo).toBe(false);
    expect(r.framesSampled).toBe(1);
    const f = r.frames[0] as FrameWithFace;
    expect(f.facesFound).toBe(2);
    expect(r.score).toBeGreaterThan(0);
    expect(r.score).toBeLessThan(1);
  });
});

describe('every face, people and landmarks', () => {
  it('scores both faces of a photo as two people; the file scores as the most fake one', async () => {
    const r = await detector.scoreImage(media('obama-biden-two-faces.jpg'), { allFaces: true });
    const f = r.frames[0] as FrameWithFace;
    expect(f.faces).toHaveLength(2);
    expect(f.faces[0].box.width * f.faces[0].box.height).toBeGreaterThanOrEqual(f.faces[1].box.width * f.faces[1].box.height);
    expect(r.people!.map((p) => p.id)).toEqual([0, 1]);
    expect(f.faces.map((x) => x.person)).toEqual([0, 1]);
    expect(r.score).toBeCloseTo(Math.max(...r.people!.map((p) => p.score)), 12);
    expect(r.facesFound).toBe(2);
  });

  it('follows one person through a clip', async () => {
    const r = await detector.scoreVideo(clip, { frames: 4, allFaces: true });
    expect(r.people).toHaveLength(1);
    expect(r.people![0].faces).toBe(4);
    const logits = (r.frames as FrameWithFace[]).map((f) => f.logit);
    expect(r.people![0].logit).toBeCloseTo(logits.reduce((a, b) => a + b, 0) / 4, 12);
  });

  it('returns 68 landmarks inside the face box, and names a missing model', async () => {
    const r = await detector.scoreVideo(clip, { frames: 1, landmarks: true });
    const f = r.frames[0] as FrameWithFace;
    expect(f.landmarks).toHaveLength(68);
    const inside = f.landmarks!.filter(([x, y]) => x >= f.box.x - 20 && x <= f.box.x + f.box.width + 20 && y >= f.box.y - 20 && y <= f.box.y + f.box.height + 20);
    expect(inside.length).toBeGreaterThan(60);
    await expect(detector.scoreVideo(clip, { frames: 1, landmarks: path.join(dir, 'none.dat') })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('bad input', () => {
  const code = async (file: string) => (await detector.scoreVideo(file, { frames: 2 }).catch((e) => e)).code;

  it('reports each bad file with a stable code', async () => {
    const text = path.join(dir, 'notes.mp4');
    fs.writeFileSync(text, 'not a video at all\n');
    const empty = path.join(dir, 'empty.mp4');
    fs.writeFileSync(empty, '');
    const truncated = path.join(dir, 'truncated.mp4');
    fs.writeFileSync(truncated, fs.readFileSync(clip).subarray(0, 10_000));
    const noFace = path.join(dir, 'gradient.bmp');
    writeGradientBmp(noFace, 320, 240);
    expect(await code(path.join(dir, 'missing.mp4'))).toBe('ENOENT');
    expect(await code(text)).toBe('EUNSUPPORTED');
    expect(await code(empty)).toBe('EUNSUPPORTED');
    expect(['EUNSUPPORTED', 'ECORRUPT']).toContain(await code(truncated));
    expect(await code(noFace)).toBe('ENOFACE');
    const huge = path.join(dir, 'huge.png');
    writePngHeader(huge, 30000, 30000);
    expect(await code(huge)).toBe('ETOOLARGE');
    expect(await code(dir)).toBe('EINVAL');
  });

  it('rejects bad options before any work', async () => {
    await expect(detector.scoreVideo(clip, { frames: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(detector.scoreVideo(clip, { threshold: 2 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(Detector.create({ weights: 42 as never })).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('laa-native score (CLI)', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), ...args], { encoding: 'utf8' });

  it('scores a file with --json with the bundled model by default, names it, exits 0', () => {
    const r = cli(['score', clip, '--frames', '2', '--json']);
    expect(cli(['score', clip, '--frames', '1']).stdout).toMatch(/^model: laa-native-lite0-sbi-256\n/);
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout.trim());
    expect(line).toMatchObject({ file: clip, ok: true, framesSampled: 2, facesFound: 2 });
    expect(line.model).toMatchObject({ name: 'laa-native-lite0-sbi-256', untrained: false, inputSize: 256 });
    expect(r.stderr).toContain('model laa-native-lite0-sbi-256 (bundled: ');
    expect(r.stderr).toContain(DEFAULT_MODEL_CAVEAT);
  });

  it('uses the untrained fill-rule weights only when asked (--weights untrained) and says so', () => {
    const u = cli(['score', clip, '--frames', '1', '--json', '--weights', 'untrained']);
    expect(u.status).toBe(0);
    expect(u.stderr).toContain('UNTRAINED');
    expect(JSON.parse(u.stdout.trim()).model).toMatchObject({ untrained: true, inputSize: 384 });
  });

  it('scores a directory of mixed files, reports per-file failures and exits 1', () => {
    const mixed = path.join(dir, 'mixed');
    fs.mkdirSync(mixed, { recursive: true });
    fs.copyFileSync(clip, path.join(mixed, 'a-real.mp4'));
    fs.writeFileSync(path.join(mixed, 'b-broken.mp4'), 'text');
    fs.writeFileSync(path.join(mixed, 'readme.txt'), 'ignored: not a media file');
    const r = cli(['score', mixed, '--frames', '1', '--json', '--weights', 'untrained']);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [path.basename(l.file), l.ok, l.code])).toEqual([
      ['a-real.mp4', true, undefined],
      ['b-broken.mp4', false, 'EUNSUPPORTED'],
    ]);
  });

  it('writes heatmap PNGs with --heatmap-dir', () => {
    const out = path.join(dir, 'heatmaps');
    fs.rmSync(out, { recursive: true, force: true });
    const r = cli(['score', clip, '--frames', '2', '--heatmap-dir', out, '--weights', 'untrained']);
    expect(r.status).toBe(0);
    const pngs = fs.readdirSync(out).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(2);
    expect(fs.readFileSync(path.join(out, pngs[0])).subarray(1, 4).toString()).toBe('PNG');
  });

  it('exits 2 on bad usage', () => {
    expect(cli(['score']).status).toBe(2);
    expect(cli(['score', clip, '--frames', 'lots']).status).toBe(2);
  });
});
