/**
 * Training-data preparation (as the official `package_utils/images_crop.py` and
 * `geo_landmarks_extraction.py`): a folder of videos and images becomes
 * aligned 256×256 face crops plus a JSONL index with their 68 landmarks.
 *
 * Layout of the output folder:
 *   frames/<video-id>/<frame:04d>.png   aligned crops (written and fsynced by the native job)
 *   index/<video-id>.jsonl              one video's records (the source of truth)
 *   done/<video-id>.json                done marker: counts, settings, the source's size + mtime
 *   index.jsonl                         the union of the per-video files of done videos
 *
 * A video is done when its marker and its per-video file exist and agree, and
 * its source and the settings are unchanged. Per video the order is: frames,
 * per-video file (tmp + fsync + rename), marker (same), then one append + fsync
 * to index.jsonl. So a kill at any point loses only the video in progress, and
 * index.jsonl never holds a line of a video that is not done.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { AbortError, callNative, checkFunction, checkPath, checkSignal, ensureDir, invalidArgument, LaaError, type LaaErrorCode } from '../binding/errors';
import { checkDetectMaxSide, checkFrames } from '../model/defaults';
import { DEFAULT_FACE_DETECTOR, DEFAULT_LANDMARKS, resolveFaceDetector, resolveLandmarks, type FaceDetectorName, type LandmarkModelName } from '../model/faces';
import { binding, type NativeAbortFlag } from '../binding/native';

export type PreparePhase = 'frame' | 'video';

export interface PrepareProgress {
  /** 'frame': a sampled frame of `video` was handled (done/total frames of that video); 'video': a file finished (done/total files). */
  phase: PreparePhase;
  /** The video id (see PreparedRecord.video). */
  video: string;
  done: number;
  total: number;
  /** With phase 'video': what happened to it. */
  status?: 'prepared' | 'skipped' | 'failed';
}

export interface PrepareOptions {
  /** A folder (searched recursively for .mp4/.avi/.mov/.mkv/.webm/.m4v videos and .jpg/.jpeg/.png images) or a single file. */
  input: string;
  /** The output folder (created if missing; an existing one is resumed). */
  output: string;
  /** Frames sampled evenly per video (default 32; the official train split uses 128). */
  framesPerVideo?: number;
  signal?: AbortSignal;
  onProgress?: (p: PrepareProgress) => void;
  /** Longest side of the frame copy the face detector sees (default 640). */
  detectMaxSide?: number;
  /** The face detector (default `blazeface`; `hog` is dlib's, as the earlier releases prepared). */
  faceDetector?: FaceDetectorName;
  /** Landmarks: `facemesh` (default, Apache-2.0), `dlib68` (the official 68-point model; its terms exclude commercial use) or a model file. */
  landmarks?: LandmarkModelName | string;
  /** A landmark model file (kept for earlier callers; `landmarks` takes precedence). */
  landmarkModel?: string;
  /** Files prepared at once, one thread each (default 1). */
  concurrency?: number;
}

export interface PrepareFailure {
  /** The input file. */
  path: string;
  code: LaaErrorCode;
  message: string;
}

export interface PrepareResult {
  /** Files (videos and images) prepared by this run. */
  videos: number;
  /** Frames written by this run. */
  frames: number;
  /** Files skipped because they were already done. */
  skipped: number;
  /** Sampled frames without a face in this run (not written). */
  noFace: number;
  /** Files that could not be read; the run went on without them. */
  failed: PrepareFailure[];
  indexPath: string;
  /** Records in index.jsonl after the run. */
  indexedFrames: number;
  /** Native time summed over the files of this run (with concurrency > 1 it exceeds the wall time). */
  timings: { decodeMs: number; detectMs: number; alignMs: number; writeMs: number };
}

export type Point = [number, number];

/** One line of index.jsonl. */
export interface PreparedRecord {
  /** The source's path relative to the input folder, without extension, '/' replaced by '__'. */
  video: string;
  /** The source's path relative to the input folder ('/'-separated). */
  source: string;
  /** Frame number in the source (0 for images). */
  frame: number;
  /** The aligned 256×256 crop, relative to the output folder. */
  image: string;
  /** 68 points in the aligned crop (rounded to 0.01 px). */
  landmarks: Point[];
  /** The same points in the crop before alignment. */
  origLandmarks: Point[];
  /** The face detection in the source frame: [x, y, width, height]. */
  box: [number, number, number, number];
  /** The region that was cropped and resized to 256×256 (the box grown 25 % per side, clamped): [x, y, width, height]. */
  crop: [number, number, number, number];
  /** The rotation that levelled the eyes, in degrees (cv::getRotationMatrix2D's sense, about (128, 128)). */
  angle: number;
  /** 0 = real (SBI trains on real faces only). */
  label: 0 | 1;
}

interface NativePrepared {
  info: { isVideo: boolean; frameCount: number; fps: number; width: number; height: number };
  sampled: number;
  noFace: number;
  frames: Array<{
    index: number;
    timeSec: number;
    facesFound: number;
    box: [number, number, number, number];
    crop: [number, number, number, number];
    angle: number;
    landmarks: Float64Array;
    origLandmarks: Float64Array;
  }>;
  timings: { decodeMs: number; detectMs: number; alignMs: number; writeMs: number };
}

type PrepareBinding = {
  prepareMedia(
    file: string,
    framesDir: string,
    options: { frames: number; detectMaxSide: number; landmarks: string; faceDetector: string; faceModel: string },
    onProgress: ((done: number, total: number) => void) | undefined,
    abort: NativeAbortFlag,
  ): Promise<NativePrepared>;
  AbortFlag: new () => NativeAbortFlag;
};

const VIDEO_EXT = new Set(['.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v']);
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);
const NATIVE_CODES = new Set(['ENOENT', 'ECORRUPT', 'EUNSUPPORTED', 'ETOOLARGE', 'EINVAL', 'ENOMEM', 'EINTERNAL']);

interface Source {
  file: string;
  /** Relative to the input folder, '/'-separated. */
  rel: string;
  id: string;
  isImage: boolean;
}

interface Marker {
  video: string;
  source: string;
  size: number;
  mtimeMs: number;
  isVideo: boolean;
  settings: Settings;
  sampled: number;
  frames: number;
  noFace: number;
  indexBytes: number;
}

interface Settings {
  framesPerVideo: number;
  detectMaxSide: number;
  landmarkModel: string;
  faceDetector: FaceDetectorName;
}

/** '<dir>/a/b.mp4' -> 'a__b'. */
export function videoId(rel: string): string {
  return rel.replace(/\.[^./]*$/, '').split('/').join('__');
}

/** Media files under `dir`, sorted, recursively; `skip` (the output folder) is not entered. */
async function walk(dir: string, skip: string): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = async (d: string) => {
    const real = await fs.promises.realpath(d);
    if (real === skip || seen.has(real)) return; // the output inside the input, or a symlink loop
    seen.add(real);
    const entries = (await fs.promises.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await fs.promises.stat(p).catch(() => undefined);
        isDir = !!st?.isDirectory();
        isFile = !!st?.isFile();
      }
      if (isDir) await visit(p);
      else if (isFile) {
        const ext = path.extname(e.name).toLowerCase();
        if (VIDEO_EXT.has(ext) || IMAGE_EXT.has(ext)) out.push(p);
      }
    }
  };
  await visit(dir);
  return out;
}

async function writeSynced(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
}

async function readMarker(file: string): Promise<Marker | undefined> {
  try {
    const m = JSON.parse(await fs.promises.readFile(file, 'utf8')) as Marker;
    return typeof m === 'object' && m !== null && typeof m.indexBytes === 'number' ? m : undefined;
  } catch {
    return undefined;
  }
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch {
    return undefined;
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function points(flat: Float64Array): Point[] {
  const out: Point[] = [];
  for (let k = 0; k + 1 < flat.length; k += 2) out.push([round2(flat[k]), round2(flat[k + 1])]);
  return out;
}

function sameSettings(m: Marker, s: Settings): boolean {
  return (
    !!m.settings &&
    (!m.isVideo || m.settings.framesPerVideo === s.framesPerVideo) &&
    m.settings.detectMaxSide === s.detectMaxSide &&
    m.settings.landmarkModel === s.landmarkModel &&
    (m.settings.faceDetector ?? 'hog') === s.faceDetector
  );
}

/**
 * Prepares a training set: per video, `framesPerVideo` evenly spaced frames;
 * per frame the largest face (dlib HOG), cropped as the official
 * images_crop.py does (box + 25 % per side, 256×256), its 68 dlib landmarks,
 * and the crop rotated so the inner eye corners (39, 42) are level, as
 * geo_landmarks_extraction.py does. Already prepared files are skipped;
 * unreadable ones are listed in `failed`. Rejects with ABORT_ERR when
 * `signal` fires (between frames); what was done is kept.
 */
export async function prepare(options: PrepareOptions): Promise<PrepareResult> {
  if (!options || typeof options !== 'object') throw invalidArgument('options', '{ input, output, ... }', options);
  checkPath('options.input', options.input, 'a folder or file path');
  checkPath('options.output', options.output, 'a folder path');
  checkSignal('options.signal', options.signal);
  checkFunction('options.onProgress', options.onProgress);
  const framesPerVideo = checkFrames('options.framesPerVideo', options.framesPerVideo);
  const detectMaxSide = checkDetectMaxSide('options.detectMaxSide', options.detectMaxSide);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw invalidArgument('options.concurrency', 'an integer from 1 to 64', concurrency);
  const landmarkModel = resolveLandmarks(options.landmarks ?? options.landmarkModel ?? DEFAULT_LANDMARKS);
  const faces = resolveFaceDetector(options.faceDetector ?? DEFAULT_FACE_DETECTOR);
  const { signal, onProgress } = options;
  if (signal?.aborted) throw new AbortError(signal.reason);
  const settings: Settings = { framesPerVideo, detectMaxSide, landmarkModel, faceDetector: faces.kind };

  const input = path.resolve(options.input);
  const output = path.resolve(options.output);
  let inputStat: fs.Stats;
  try {
    inputStat = await fs.promises.stat(input);
  } catch {
    throw new LaaError('ENOENT', `Expected an input folder or file but '${options.input}' does not exist`);
  }
  for (const sub of ['frames', 'index', 'done']) ensureDir('options.output', path.join(output, sub));
  const release = await lockOutput(output);
  try {
    return await prepareLocked(input, inputStat, output, settings, concurrency, signal, onProgress);
  } finally {
    await release();
  }
}

async function prepareLocked(
  input: string,
  inputStat: fs.Stats,
  output: string,
  settings: Settings,
  concurrency: number,
  signal: AbortSignal | undefined,
  onProgress: PrepareOptions['onProgress'],
): Promise<PrepareResult> {
  const { framesPerVideo, detectMaxSide } = settings;
  const realOutput = await fs.promises.realpath(output);
  // Temporary files of a run that was killed.
  for (const d of [output, path.join(output, 'index'), path.join(output, 'done')])
    for (const name of await fs.promises.readdir(d)) if (/\.tmp-\d+$/.test(name)) await fs.promises.rm(path.join(d, name), { force: true });

  // The inputs, their ids (unique: a second file with the same id fails), and the result.
  const files = inputStat.isDirectory() ? await walk(input, realOutput) : [input];
  const root = inputStat.isDirectory() ? input : path.dirname(input);
  const result: PrepareResult = { videos: 0, frames: 0, skipped: 0, noFace: 0, failed: [], indexPath: path.join(output, 'index.jsonl'), indexedFrames: 0,
    timings: { decodeMs: 0, detectMs: 0, alignMs: 0, writeMs: 0 },
  };
  const sources: Source[] = [];
  const byId = new Map<string, string>();
  for (const file of files) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const id = videoId(rel);
    const other = byId.get(id);
    if (other !== undefined) {
      result.failed.push({ path: file, code: 'EINVAL', message: `'${rel}' has the same video id '${id}' as '${other}'; rename one of them` });
      continue;
    }
    byId.set(id, rel);
    sources.push({ file, rel, id, isImage: IMAGE_EXT.has(path.extname(file).toLowerCase()) });
  }
  const total = files.length;
  let finished = result.failed.length;

  // Which inputs are done, and does index.jsonl hold exactly the done videos?
  const markerPath = (id: string) => path.join(output, 'done', `${id}.json`);
  const videoIndexPath = (id: string) => path.join(output, 'index', `${id}.jsonl`);
  const stale = new Set<string>(); // inputs whose marker no longer matches
  const pending: Source[] = [];
  for (const s of sources) {
    const m = await readMarker(markerPath(s.id));
    const st = await fs.promises.stat(s.file).catch(() => undefined);
    const ok =
      m !== undefined && st !== undefined && m.size === st.size && m.mtimeMs === st.mtimeMs && sameSettings(m, settings) &&
      (await fileSize(videoIndexPath(s.id))) === m.indexBytes;
    if (ok) {
      result.skipped++;
      finished++;
      onProgress?.({ phase: 'video', video: s.id, done: finished, total, status: 'skipped' });
    } else {
      if (m !== undefined) stale.add(s.id);
      pending.push(s);
    }
  }
  await rebuildIndex(output, stale, false);

  // Per-video work, `concurrency` files at a time; index appends one at a time.
  const native = binding() as unknown as PrepareBinding;
  const flag = new native.AbortFlag();
  const onAbort = () => flag.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let changed = false; // a video was completed: index.jsonl gets rebuilt in order at the end
  let appendChain: Promise<void> = Promise.resolve();
  const indexFile = result.indexPath;
  const prepareOne = async (s: Source) => {
    const framesDir = path.join(output, 'frames', s.id);
    // Not done: forget the old marker first, then the old frames.
    await fs.promises.rm(markerPath(s.id), { force: true });
    await fs.promises.rm(framesDir, { recursive: true, force: true });
    await fs.promises.mkdir(framesDir, { recursive: true });
    const st = await fs.promises.stat(s.file).catch(() => {
      throw new LaaError('ENOENT', `Expected '${s.rel}' to exist but it is gone`);
    });
    const progress = onProgress ? (done: number, t: number) => onProgress({ phase: 'frame', video: s.id, done, total: t }) : undefined;
    const r = await callNative(() =>
      native.prepareMedia(s.file, framesDir, { frames: framesPerVideo, detectMaxSide, landmarks: settings.landmarkModel, faceDetector: settings.faceDetector, faceModel: resolveFaceDetector(settings.faceDetector).model }, progress, flag),
    );
    const lines = r.frames
      .map((f) => {
        const rec: PreparedRecord = {
          video: s.id,
          source: s.rel,
          frame: f.index,
          image: `frames/${s.id}/${String(f.index).padStart(4, '0')}.png`,
          landmarks: points(f.landmarks),
          origLandmarks: points(f.origLandmarks),
          box: [...f.box] as PreparedRecord['box'],
          crop: [...f.crop] as PreparedRecord['crop'],
          angle: Math.round(f.angle * 1e6) / 1e6,
          label: 0,
        };
        return JSON.stringify(rec) + '\n';
      })
      .join('');
    await writeSynced(videoIndexPath(s.id), lines);
    const marker: Marker = {
      video: s.id,
      source: s.rel,
      size: st.size,
      mtimeMs: st.mtimeMs,
      isVideo: r.info.isVideo,
      settings,
      sampled: r.sampled,
      frames: r.frames.length,
      noFace: r.noFace,
      indexBytes: Buffer.byteLength(lines),
    };
    await writeSynced(markerPath(s.id), JSON.stringify(marker) + '\n');
    if (lines.length) {
      appendChain = appendChain.then(async () => {
        const fh = await fs.promises.open(indexFile, 'a');
        try {
          await fh.write(lines);
          await fh.sync();
        } finally {
          await fh.close();
        }
      });
      await appendChain;
    }
    changed = true;
    result.videos++;
    result.frames += r.frames.length;
    result.noFace += r.noFace;
    for (const k of ['decodeMs', 'detectMs', 'alignMs', 'writeMs'] as const) result.timings[k] += r.timings[k];
  };

  let next = 0;
  let abortErr: unknown;
  const runner = async () => {
    while (next < pending.length && abortErr === undefined) {
      if (signal?.aborted) {
        abortErr ??= new AbortError(signal.reason);
        return;
      }
      const s = pending[next++];
      let status: PrepareProgress['status'] = 'prepared';
      try {
        await prepareOne(s);
      } catch (err) {
        const e = err as LaaError;
        if (e.code === 'ABORT_ERR') {
          abortErr ??= new AbortError(signal?.reason);
          return;
        }
        // Errors about the source file (native) are the file's; anything
        // else (writing the output) stops the run.
        if (!(e instanceof LaaError) || !NATIVE_CODES.has(e.code)) {
          abortErr ??= err;
          return;
        }
        status = 'failed';
        result.failed.push({ path: s.file, code: e.code, message: e.message });
        await fs.promises.rm(videoIndexPath(s.id), { force: true });
        await fs.promises.rm(path.join(output, 'frames', s.id), { recursive: true, force: true });
      }
      finished++;
      onProgress?.({ phase: 'video', video: s.id, done: finished, total, status });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, pending.length)) }, runner));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await appendChain.catch(() => undefined);
    // Sorted by video id, whatever order the files finished in.
    result.indexedFrames = await rebuildIndex(output, new Set(), changed);
  }
  if (abortErr !== undefined) throw abortErr;
  result.failed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/**
 * One run per output folder: `prepare.lock` holds the owner's pid. A lock
 * left by a process that is gone (killed) is taken over.
 */
async function lockOutput(output: string): Promise<() => Promise<void>> {
  const lock = path.join(output, 'prepare.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.promises.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.promises.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(await fs.promises.readFile(lock, 'utf8').catch(() => ''), 10);
    let alive = false;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive)
      throw new LaaError('EINVAL', `Expected '${output}' to be free but another prepare run (pid ${pid}) is using it; wait for it or stop it`);
    await fs.promises.rm(lock, { force: true });
  }
  throw new LaaError('EINVAL', `could not lock '${output}' (${lock} keeps reappearing)`);
}

/**
 * Makes index.jsonl the concatenation, sorted by video id, of the per-video
 * files of done videos (a marker that agrees with its file, not in
 * `exclude`). Rewrites it (tmp + fsync + rename) only when `force` or when it
 * differs: a size that does not add up, or a marker newer than the index.
 * Returns the number of records.
 */
async function rebuildIndex(output: string, exclude: Set<string>, force: boolean): Promise<number> {
  const indexFile = path.join(output, 'index.jsonl');
  const doneDir = path.join(output, 'done');
  const ids = (await fs.promises.readdir(doneDir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  const current = await fs.promises.stat(indexFile).catch(() => undefined);
  const parts: Array<{ id: string; bytes: number; frames: number }> = [];
  let bytes = 0;
  let frames = 0;
  let newer = false;
  for (const id of ids) {
    if (exclude.has(id)) continue;
    const mFile = path.join(doneDir, `${id}.json`);
    const m = await readMarker(mFile);
    if (!m || (await fileSize(path.join(output, 'index', `${id}.jsonl`))) !== m.indexBytes) continue;
    if (current && (await fs.promises.stat(mFile)).mtimeMs > current.mtimeMs) newer = true;
    parts.push({ id, bytes: m.indexBytes, frames: m.frames });
    bytes += m.indexBytes;
    frames += m.frames;
  }
  if (!force && current && current.size === bytes && !newer) return frames;
  const tmp = `${indexFile}.tmp-${process.pid}`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    for (const p of parts) await fh.write(await fs.promises.readFile(path.join(output, 'index', `${p.id}.jsonl`)));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, indexFile);
  return frames;
}

function isPoints(v: unknown): v is Point[] {
  return Array.isArray(v) && v.length > 0 && v.every((p) => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
}

function isRect(v: unknown): boolean {
  return Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x));
}

/** What is wrong with a parsed index line, or undefined. */
function checkRecord(r: Record<string, unknown>): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'a JSON object';
  if (typeof r.video !== 'string' || r.video.length === 0) return '"video" to be a non-empty string';
  if (typeof r.source !== 'string' || r.source.length === 0) return '"source" to be a non-empty string';
  if (!Number.isInteger(r.frame) || (r.frame as number) < 0) return '"frame" to be a non-negative integer';
  if (typeof r.image !== 'string' || !r.image.endsWith('.png')) return '"image" to be a .png path';
  if (!isPoints(r.landmarks)) return '"landmarks" to be a list of [x, y] numbers';
  if (!isPoints(r.origLandmarks) || r.origLandmarks.length !== r.landmarks.length) return '"origLandmarks" to be as many [x, y] numbers as "landmarks"';
  if (!isRect(r.box)) return '"box" to be [x, y, width, height] integers';
  if (r.crop !== undefined && !isRect(r.crop)) return '"crop" to be [x, y, width, height] integers';
  if (r.label !== 0 && r.label !== 1) return '"label" to be 0 or 1';
  return undefined;
}

/**
 * Reads `<dir>/index.jsonl` as written by prepare(): one record per frame.
 * `image` paths are relative to `dir`. A line that is not a valid record
 * fails with ECORRUPT naming the line.
 */
export async function readPreparedIndex(dir: string): Promise<PreparedRecord[]> {
  checkPath('dir', dir, 'a prepared folder');
  const file = path.join(dir, 'index.jsonl');
  let stream: fs.ReadStream;
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    throw new LaaError('ENOENT', `Expected a prepared folder with index.jsonl but '${file}' does not exist`);
  }
  if (!st.isFile()) throw new LaaError('EINVAL', `Expected '${file}' to be a file (the prepared index) but it is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`);
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { encoding: 'utf8' });
  } catch (err) {
    throw new LaaError('EINVAL', `cannot read '${file}': ${(err as Error).message}`);
  }
  const root = path.resolve(dir);
  const out: PreparedRecord[] = [];
  let n = 0;
  for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new LaaError('ECORRUPT', `${file}:${n}: expected a JSON record but the line does not parse (${(err as Error).message})`);
    }
    const wrong = checkRecord(rec);
    if (wrong) throw new LaaError('ECORRUPT', `${file}:${n}: expected ${wrong} but received ${JSON.stringify(line.length > 200 ? line.slice(0, 200) + '…' : line)}`);
    // Image paths stay inside the prepared folder: relative, no '..' out of it, no NUL.
    const image = rec.image as string;
    const resolved = path.resolve(root, image);
    if (path.isAbsolute(image) || image.includes('\0') || (resolved !== root && !resolved.startsWith(root + path.sep)))
      throw new LaaError('ECORRUPT', `${file}:${n}: expected "image" to be a path inside ${root} but received ${JSON.stringify(image.slice(0, 200))}`);
    out.push(rec as unknown as PreparedRecord);
  }
  return out;
}
