// Training-data preparation (issue #4; as the official images_crop.py and
// geo_landmarks_extraction.py): sampled frames -> largest face -> 256×256 crop
// -> 68 landmarks -> eye-line alignment -> PNG + JSONL index; resuming,
// incremental reruns, bad files, cancellation, the CLI.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortError, LaaError, prepare, readPreparedIndex, type PrepareProgress, type PreparedRecord, type PrepareResult } from '../src';
import { repoRoot, tmpDir } from './support/paths';

const media = (name: string) => path.join(repoRoot, 'test/fixtures/media', name);
const dir = tmpDir('prepare');
const input = path.join(dir, 'in');
const out = path.join(dir, 'out');
// The FF++ layout: the video sits four folders down.
const videoRel = 'original_sequences/youtube/c23/videos/talking.mp4';
const videoId = 'original_sequences__youtube__c23__videos__talking';
const imageId = 'photos__obama';
const badFile = path.join(input, 'bad', 'notes.mp4');

function copy(from: string, to: string) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** Width, height, bit depth and colour type from a PNG's IHDR chunk. */
function pngHeader(file: string) {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.toString('ascii', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), depth: b[24], colorType: b[25] };
}

const mtimes = (files: string[]) => files.map((f) => fs.statSync(f).mtimeMs);
const framePngs = (root: string, id: string) =>
  fs.readdirSync(path.join(root, 'frames', id)).sort().map((n) => path.join(root, 'frames', id, n));

let first: PrepareResult;
let records: PreparedRecord[];
const events: PrepareProgress[] = [];

beforeAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  copy(media('talking-head-2.mp4'), path.join(input, videoRel));
  copy(media('obama-720p.jpg'), path.join(input, 'photos', 'obama.jpg'));
  fs.mkdirSync(path.dirname(badFile), { recursive: true });
  fs.writeFileSync(badFile, 'not a video, only text\n'.repeat(20));
  first = await prepare({ input, output: out, framesPerVideo: 4, onProgress: (p) => events.push(p) });
  records = await readPreparedIndex(out);
});

describe('prepare', () => {
  it('prepares every video and image found recursively and lists the unreadable file', () => {
    expect(first).toMatchObject({ videos: 2, frames: 5, skipped: 0, noFace: 0, indexedFrames: 5, indexPath: path.join(out, 'index.jsonl') });
    expect(first.failed).toHaveLength(1);
    expect(first.failed[0]).toMatchObject({ path: badFile, code: 'EUNSUPPORTED' });
    expect(first.failed[0].message).toContain('notes.mp4');
    // One line per frame, sorted by video id; np.linspace(0, 249, 4).astype(int) for the 250-frame clip.
    expect(records.map((r) => [r.video, r.frame])).toEqual([
      [videoId, 0], [videoId, 83], [videoId, 166], [videoId, 249], [imageId, 0],
    ]);
    for (const r of records) {
      expect(r.source).toBe(r.video === videoId ? videoRel : 'photos/obama.jpg');
      expect(r.image).toBe(`frames/${r.video}/${String(r.frame).padStart(4, '0')}.png`);
      expect(r.label).toBe(0);
    }
    // Progress: every frame of the video, then each file once.
    expect(events.filter((e) => e.phase === 'frame' && e.video === videoId).map((e) => `${e.done}/${e.total}`)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(events.filter((e) => e.phase === 'video').map((e) => [e.done, e.total])).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(events.filter((e) => e.phase === 'video' && e.status === 'failed').map((e) => e.video)).toEqual(['bad__notes']);
  });

  it('writes 256×256 RGB PNGs with the face box, crop and landmarks inside them', () => {
    for (const r of records) {
      expect(pngHeader(path.join(out, r.image))).toEqual({ width: 256, height: 256, depth: 8, colorType: 2 });
      const [fw, fh] = r.video === videoId ? [480, 480] : [1280, 720];
      const [x, y, w, h] = r.box;
      expect(w).toBeGreaterThan(80);
      // The crop is the box grown by int(0.25·size) per side, clamped to the
      // frame (official PADDING = 0.25).
      const [cx, cy, cw, ch] = r.crop;
      expect(cx).toBe(Math.max(0, x - Math.trunc(w * 0.25)));
      expect(cy).toBe(Math.max(0, y - Math.trunc(h * 0.25)));
      expect(cx + cw).toBe(Math.min(fw, x + w + Math.trunc(w * 0.25)));
      expect(cy + ch).toBe(Math.min(fh, y + h + Math.trunc(h * 0.25)));
      expect(r.landmarks).toHaveLength(68);
      expect(r.origLandmarks).toHaveLength(68);
      for (const [px, py] of [...r.landmarks, ...r.origLandmarks]) {
        expect(px).toBeGreaterThan(0);
        expect(px).toBeLessThan(256);
        expect(py).toBeGreaterThan(0);
        expect(py).toBeLessThan(256);
      }
      // The face fills the middle of the crop: the box is 2/3 of the crop, centred.
      const xs = r.origLandmarks.map((p) => p[0]);
      expect(Math.min(...xs)).toBeGreaterThan(256 / 6 - 20);
      expect(Math.max(...xs)).toBeLessThan((256 * 5) / 6 + 20);
    }
  });

  it('levels the eyes: aligned = getRotationMatrix2D((128, 128), atan(dy/dx)°) · orig, y39 = y42', () => {
    let tilted = 0;
    for (const r of records) {
      const o = r.origLandmarks;
      // dlib's points are whole pixels; the official code uses them as they are.
      for (const [px, py] of o) expect([px, py]).toEqual([Math.round(px), Math.round(py)]);
      const angle = (Math.atan((o[39][1] - o[42][1]) / (o[39][0] - o[42][0])) * 180) / Math.PI;
      expect(r.angle).toBeCloseTo(angle, 5);
      if (Math.abs(angle) > 0.5) tilted++;
      const a = Math.cos((angle * Math.PI) / 180), b = Math.sin((angle * Math.PI) / 180);
      const m = [a, b, (1 - a) * 128 - b * 128, -b, a, b * 128 + (1 - a) * 128];
      r.origLandmarks.forEach(([px, py], k) => {
        expect(Math.abs(r.landmarks[k][0] - (m[0] * px + m[1] * py + m[2]))).toBeLessThanOrEqual(0.005 + 1e-9);
        expect(Math.abs(r.landmarks[k][1] - (m[3] * px + m[4] * py + m[5]))).toBeLessThanOrEqual(0.005 + 1e-9);
      });
      // Exactly level before rounding (−sinθ·dx + cosθ·dy = 0): each y is rounded to 0.01.
      expect(Math.abs(r.landmarks[39][1] - r.landmarks[42][1])).toBeLessThanOrEqual(0.01 + 1e-9);
      expect(r.landmarks[39][0]).toBeLessThan(r.landmarks[42][0]);
    }
    expect(tilted).toBeGreaterThan(0); // the check above is not vacuous
  });

  it('keeps per-video index files and done markers that agree with index.jsonl', () => {
    const lines = fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8');
    const perVideo = [videoId, imageId].map((id) => fs.readFileSync(path.join(out, 'index', `${id}.jsonl`), 'utf8'));
    expect(lines).toBe(perVideo.join(''));
    const marker = JSON.parse(fs.readFileSync(path.join(out, 'done', `${videoId}.json`), 'utf8'));
    const st = fs.statSync(path.join(input, videoRel));
    expect(marker).toMatchObject({ source: videoRel, size: st.size, mtimeMs: st.mtimeMs, frames: 4, sampled: 4, noFace: 0, indexBytes: Buffer.byteLength(perVideo[0]) });
    expect(fs.existsSync(path.join(out, 'done', 'bad__notes.json'))).toBe(false);
  });

  it('skips done files on a rerun without rewriting anything', async () => {
    const files = [...framePngs(out, videoId), ...framePngs(out, imageId), path.join(out, 'index.jsonl'), path.join(out, 'done', `${videoId}.json`)];
    const before = mtimes(files);
    const r = await prepare({ input, output: out, framesPerVideo: 4 });
    expect(r).toMatchObject({ videos: 0, frames: 0, skipped: 2, indexedFrames: 5 });
    expect(r.failed.map((f) => f.code)).toEqual(['EUNSUPPORTED']);
    expect(mtimes(files)).toEqual(before);
  });

  it('redoes only the video whose marker is gone, and the image whose source changed', async () => {
    const index = fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8');
    const imagePng = framePngs(out, imageId);
    const videoPngs = framePngs(out, videoId);
    const imageBefore = mtimes(imagePng);
    const videoBefore = mtimes(videoPngs);
    fs.rmSync(path.join(out, 'done', `${videoId}.json`));
    const r = await prepare({ input, output: out, framesPerVideo: 4 });
    expect(r).toMatchObject({ videos: 1, frames: 4, skipped: 1, indexedFrames: 5 });
    expect(mtimes(imagePng)).toEqual(imageBefore);
    mtimes(videoPngs).forEach((t, k) => expect(t).toBeGreaterThan(videoBefore[k]));
    // The same records, in the same order.
    expect(fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8')).toBe(index);

    const future = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(input, 'photos', 'obama.jpg'), future, future);
    const r2 = await prepare({ input, output: out, framesPerVideo: 4 });
    expect(r2).toMatchObject({ videos: 1, frames: 1, skipped: 1 });
    expect(fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8')).toBe(index);
  });

  it('stops with ABORT_ERR between frames; a rerun completes the set', async () => {
    const out2 = path.join(dir, 'out-abort');
    const controller = new AbortController();
    const p = prepare({
      input,
      output: out2,
      framesPerVideo: 4,
      signal: controller.signal,
      onProgress: (e) => e.phase === 'frame' && e.done === 2 && controller.abort(),
    });
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
    // Nothing half-done is indexed: the video was in progress, the image not started.
    expect(fs.readFileSync(path.join(out2, 'index.jsonl'), 'utf8')).toBe('');
    expect(fs.existsSync(path.join(out2, 'done', `${videoId}.json`))).toBe(false);
    // Two files at a time this time: the index is the same, in the same order.
    const r = await prepare({ input, output: out2, framesPerVideo: 4, concurrency: 2 });
    expect(r).toMatchObject({ videos: 2, frames: 5, skipped: 0 });
    expect(fs.readFileSync(path.join(out2, 'index.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8'));
  });

  it('gives each file a unique id, ignores its own output inside the input, and locks the output', async () => {
    const inDup = path.join(dir, 'in-dup');
    const outDup = path.join(inDup, 'prepared'); // inside the input: its PNGs are not inputs
    copy(media('obama-720p.jpg'), path.join(inDup, 'a', 'b.jpg'));
    copy(media('obama-720p.jpg'), path.join(inDup, 'a__b.png'));
    const [r1, r2] = await Promise.allSettled([prepare({ input: inDup, output: outDup }), prepare({ input: inDup, output: outDup })]);
    const [ok, busy] = r1.status === 'fulfilled' ? [r1, r2] : [r2, r1];
    expect(busy).toMatchObject({ status: 'rejected', reason: { code: 'EINVAL' } });
    expect((busy as PromiseRejectedResult).reason.message).toMatch(/another prepare run \(pid \d+\)/);
    const r = (ok as PromiseFulfilledResult<PrepareResult>).value;
    expect(r.videos).toBe(1);
    expect(r.failed).toMatchObject([{ path: path.join(inDup, 'a__b.png'), code: 'EINVAL' }]);
    expect(fs.existsSync(path.join(outDup, 'prepare.lock'))).toBe(false);
    const again = await prepare({ input: inDup, output: outDup });
    expect(again).toMatchObject({ videos: 0, skipped: 1, indexedFrames: 1 });
    expect(again.failed).toHaveLength(1);
  });

  it('rejects bad arguments and a missing input', async () => {
    await expect(prepare({ input, output: out, framesPerVideo: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(prepare({ input: path.join(dir, 'missing'), output: out })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('readPreparedIndex', () => {
  it('fails with ECORRUPT naming the bad line', async () => {
    const bad = path.join(dir, 'out-corrupt');
    fs.mkdirSync(bad, { recursive: true });
    const lines = fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8').split('\n');
    const rec = JSON.parse(lines[1]);
    rec.landmarks[5] = [1, 'x'];
    fs.writeFileSync(path.join(bad, 'index.jsonl'), [lines[0], JSON.stringify(rec), ...lines.slice(2)].join('\n'));
    const err = await readPreparedIndex(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaaError);
    expect(err).toMatchObject({ code: 'ECORRUPT' });
    expect((err as Error).message).toMatch(/index\.jsonl:2: expected "landmarks"/);
    fs.writeFileSync(path.join(bad, 'index.jsonl'), lines[0] + '\n{"video": \n');
    await expect(readPreparedIndex(bad)).rejects.toThrow(/index\.jsonl:2: expected a JSON record/);
    await expect(readPreparedIndex(path.join(dir, 'nowhere'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('laa-native prepare (CLI)', () => {
  const cli = path.join(repoRoot, 'lib/cli/main.js');

  it('survives kill -9 mid-video: the rerun redoes that video, prints a summary and exits 0', async () => {
    const in3 = path.join(dir, 'in-cli');
    const out3 = path.join(dir, 'out-cli');
    copy(media('talking-head-2.mp4'), path.join(in3, videoRel));
    copy(media('obama-720p.jpg'), path.join(in3, 'photos', 'obama.jpg'));
    // Kill the first run once the video's first frame is on disk.
    const child = spawn(process.execPath, [cli, 'prepare', in3, out3, '--frames', '4'], { stdio: 'ignore' });
    const firstPng = path.join(out3, 'frames', videoId, '0000.png');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (fs.existsSync(firstPng)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 2);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the CLI finished before it could be killed'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    expect(fs.existsSync(path.join(out3, 'done', `${videoId}.json`))).toBe(false);

    const r = spawnSync(process.execPath, [cli, 'prepare', in3, out3, '--frames', '4'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^prepared 2 files \(5 frames, 0 without a face\), 0 already done, 0 failed in [\d.]+ s \([\d.]+ frames\/s\); index: .*index\.jsonl \(5 frames\)\n$/);
    expect(fs.readFileSync(path.join(out3, 'index.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(out, 'index.jsonl'), 'utf8'));

    const again = spawnSync(process.execPath, [cli, 'prepare', in3, out3, '--frames', '4', '--json'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ videos: 0, skipped: 2, frames: 0, indexedFrames: 5, failed: [] });
  });

  it('exits 1 and names the file when one fails', () => {
    const r = spawnSync(process.execPath, [cli, 'prepare', badFile, path.join(dir, 'out-bad')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`failed  ${badFile}  [EUNSUPPORTED]`);
  });
});
