#!/usr/bin/env node
/**
 * laa-native command line.
 *   laa-native convert <checkpoint.pth> <out.safetensors> [--dtype float32]
 *   laa-native convert-backbone <efficientnet.pth> <out.safetensors> --backbone efficientnet-lite0
 *   laa-native prepare <input> <output> [--frames 32]
 *   laa-native info | doctor
 * Exit codes: 0 success, 1 the work failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { faceDetectorOption, dtypeOption, threadsOption, weightsOption, detectMaxSideOption, framesOption, intOption, probabilityOption } from './options';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Detector, type ScoreResult } from '../detect/detector';
import { ensureDir, LaaError } from '../binding/errors';
import { LaaNet, type DType, type DTypeOption } from '../model/laanet';
import { writeHeatmapOverlay } from '../report/overlay';
import { loadWeights } from '../model/bundled';
import { qualityCommands } from './quality';
import { DEFAULT_FACE_DETECTOR, DEFAULT_LANDMARKS, FACE_MODELS, type FaceDetectorName } from '../model/faces';
import { evalCommand } from './eval';
import { writeReport } from '../report/html';
import { addTrainCommand } from './train';
import { prepare, type PrepareProgress } from '../data/prepare';
import { versions } from '../binding/versions';
import { BACKBONES, convertBackbone, type Backbone } from '../model/backbones';

const MEDIA = new Set(['.mp4', '.avi', '.mov', '.webm', '.mkv', '.m4v', '.jpg', '.jpeg', '.png', '.bmp', '.webp']);


/** Files to score: files as given, directories expanded to their media files (sorted, not recursive). */
function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(input);
    } catch {
      out.push(input); // reported as ENOENT by the scorer
      continue;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(input).sort())
        if (MEDIA.has(path.extname(name).toLowerCase()) && fs.statSync(path.join(input, name)).isFile()) out.push(path.join(input, name));
    } else out.push(input);
  }
  return out;
}

function progressBar(file: string) {
  if (!process.stderr.isTTY) return undefined;
  return ({ stage, done, total }: { stage: string; done: number; total: number }) => {
    const width = 24;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(`\r${path.basename(file).slice(0, 30).padEnd(30)} ${stage.padEnd(6)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  };
}

async function score(inputs: string[], opts: { frames: number; weights?: string; threads?: number; dtype?: DTypeOption; json?: boolean; heatmapDir?: string; threshold?: number; allFaces?: boolean; report?: string; faceDetector?: FaceDetectorName }) {
  const files = expandInputs(inputs);
  if (files.length === 0) throw new LaaError('EINVAL', `no media files in ${inputs.join(', ')}`);
  const net = await loadWeights(opts.weights, opts.threads, opts.dtype);
  const detector = await Detector.create({ weights: net, faceDetector: opts.faceDetector });
  let failed = 0;
  const modelName = net.info.metadata.model_name ?? (net.info.source.startsWith('fill-rule:') ? 'untrained fill-rule weights' : path.basename(net.info.source));
  if (!opts.json) process.stdout.write(`model: ${modelName}\n${'file'.padEnd(48)} ${'P(fake)'.padStart(8)}  label  faces/frames  seconds  verdict (percentile among real videos)\n`);
  for (const file of files) {
    const bar = progressBar(file);
    try {
      const r: ScoreResult = await detector.scoreVideo(file, { frames: opts.frames, threshold: opts.threshold, heatmaps: !!opts.heatmapDir || !!opts.report, allFaces: !!opts.allFaces, onProgress: bar });
      if (bar) process.stderr.write('\r\x1b[K');
      if (opts.heatmapDir) await writeOverlays(r, opts.heatmapDir);
      if (opts.report) await writeReport(r, reportPath(opts.report, file, files.length), { model: net.info });
      if (opts.json) {
        const frames = r.frames.map((f) => (f.noFace ? f : { index: f.index, timeSec: f.timeSec, box: f.box, score: f.score, logit: f.logit, facesFound: f.facesFound }));
        process.stdout.write(JSON.stringify({ file, ok: true, score: r.score, verdict: r.verdict, percentile: r.percentile, explanation: r.explanation, label: r.label, threshold: r.threshold, calibration: r.calibration, logit: r.logit, facesFound: r.facesFound, framesSampled: r.framesSampled, frames, people: r.people, timings: r.timings, model: r.model }) + '\n');
      } else {
        const pct = r.percentile === undefined ? '' : ` (${r.percentile.toFixed(1)})`;
        process.stdout.write(`${file.padEnd(48)} ${r.score.toFixed(4).padStart(8)}  ${r.label.padEnd(5)}  ${`${r.facesFound}/${r.framesSampled}`.padStart(12)}  ${(r.timings.totalMs / 1000).toFixed(1).padStart(7)}  ${r.verdict}${pct}\n`);
      }
    } catch (err) {
      if (bar) process.stderr.write('\r\x1b[K');
      failed++;
      const e = err as LaaError;
      const verdict = e.code === 'ENOFACE' ? { verdict: 'no-face' } : {};
      if (opts.json) process.stdout.write(JSON.stringify({ file, ok: false, ...verdict, code: e.code ?? 'EINTERNAL', error: e.message }) + '\n');
      else process.stdout.write(`${file.padEnd(48)} ${'-'.padStart(8)}  error  [${e.code ?? 'EINTERNAL'}] ${e.message}${e.code === 'ENOFACE' ? '  (verdict: no-face)' : ''}\n`);
    }
  }
  process.stderr.write(`laa-native: ${files.length - failed}/${files.length} scored with ${modelName}${opts.report ? `; report: ${opts.report}` : ''}\n`);
  detector.dispose();
  net.dispose();
  if (failed) process.exitCode = 1;
}

async function doctor() {
  const rows: Array<[string, string]> = [];
  const report = process.report.getReport() as unknown as { header: { glibcVersionRuntime?: string } };
  rows.push(['node', `${process.versions.node} (napi ${process.versions.napi}, ${process.platform}-${process.arch})`]);
  rows.push(['glibc', report.header.glibcVersionRuntime ?? 'not glibc']);
  let ok = true;
  try {
    const v = versions();
    const c = v.cpu;
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    rows.push(['cpu', `${c.brand || require('node:os').cpus()[0]?.model || '?'}, ${require('node:os').availableParallelism()} cores; AVX2 ${yes(c.avx2)}, AVX-512 ${yes(c.avx512)}, AVX512-BF16 ${yes(c.avx512Bf16)}, AMX ${yes(c.amx)}`]);
    rows.push(['kernels', `oneDNN ISA ${c.onednnIsa || 'unknown'}, ATen ${c.atenCapability || 'unknown'}; bfloat16 ${c.nativeBf16 ? 'native (fast here)' : 'not native: bfloat16 requests run in float32 (see README, CPU precision)'}`]);
    const a = v.tensorArena;
    rows.push(['memory', a.enabled
      ? `tensor arena on: keeps up to ${(a.capBytes / 2 ** 20).toFixed(0)} MiB of idle buffers between calls (LAA_NATIVE_ARENA_MB${process.env.LAA_NATIVE_ARENA_MB ? `=${process.env.LAA_NATIVE_ARENA_MB}` : ''})`
      : 'tensor arena off (LAA_NATIVE_ARENA_MB=0): every call maps and faults in its buffers afresh']);
    const maps = fs.existsSync('/proc/self/maps') ? fs.readFileSync('/proc/self/maps', 'utf8') : '';
    const lib = (name: RegExp) => maps.split('\n').map((l) => l.split(/\s+/).pop() ?? '').find((p) => name.test(p)) ?? '?';
    rows.push(['addon', lib(/laa_native|laa-native.*\.node$/)]);
    rows.push(['libtorch', `built against ${v.libtorch}, running ${v.libtorchRuntime || '?'} from ${v.libtorchLibrary || lib(/libtorch_cpu\.so/)}${process.env.LAA_NATIVE_LIBTORCH ? ` (LAA_NATIVE_LIBTORCH=${process.env.LAA_NATIVE_LIBTORCH})` : ''}; MKLDNN ${v.mkldnn ? 'yes' : 'no'}`]);
    rows.push(['cuda', v.cuda ? `yes, ${v.cudaDevices} device(s)` : v.cudaBuild ? `no GPU visible (the LibTorch is a CUDA ${v.cudaVersion} build)` : 'no (a CPU-only LibTorch)']);
    rows.push(['opencv', `${v.opencv} at ${lib(/libopencv_core\.so/)}`]);
    rows.push(['dlib', `${v.dlib} at ${lib(/libdlib\.so/)}`]);
    // Every face model the package can load, where it comes from and its licence (src/model/faces.ts).
    for (const m of Object.values(FACE_MODELS)) {
      const where = m.file ? (fs.existsSync(m.file) ? m.file : `missing: ${m.file}`) : 'built into dlib';
      const dflt = m.name === DEFAULT_FACE_DETECTOR || m.name === DEFAULT_LANDMARKS ? ' [default]' : '';
      rows.push([m.role === 'detector' ? 'faces' : 'landmarks', `${m.name}${dflt}: ${where}; ${m.licence}${m.nonCommercial ? ' (not loaded by any default)' : ''}`]);
    }
    const net = await LaaNet.reference(undefined, {});
    const t0 = performance.now();
    const out = await net.forward({ data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, 64] }, { heads: ['cls'] });
    rows.push(['forward', `ok: 64x64 test input, logit ${out.cls!.data[0].toFixed(4)} in ${(performance.now() - t0).toFixed(0)} ms`]);
    net.dispose();
  } catch (err) {
    ok = false;
    rows.push(['error', `${(err as LaaError).code ?? ''} ${(err as Error).message}`]);
  }
  for (const [k, val] of rows) process.stdout.write(`${k.padEnd(10)} ${val}\n`);
  if (!ok) process.exitCode = 1;
}

async function writeOverlays(r: ScoreResult, dir: string) {
  const stem = path.basename(r.file).replace(/\.[^.]+$/, '');
  ensureDir('--heatmap-dir', dir);
  for (const f of r.frames) {
    if (f.noFace || !f.heatmap || !f.crop) continue;
    await writeHeatmapOverlay(path.join(dir, `${stem}_frame${String(f.index).padStart(6, '0')}.png`), f.crop, f.heatmap);
  }
}

/** One input: the path as given; several: <dir>/<file name>.html. */
function reportPath(report: string, file: string, count: number): string {
  if (count === 1) return report;
  ensureDir('--report', report);
  return path.join(report, `${path.basename(file)}.html`);
}

async function prepareCommand(input: string, output: string, opts: { frames: number; detectMaxSide: number; landmarks?: string; faceDetector?: FaceDetectorName; jobs: number; json?: boolean }) {
  const tty = process.stderr.isTTY;
  let videosLine = '';
  const onProgress = (p: PrepareProgress) => {
    if (p.phase === 'video') videosLine = `[${p.done}/${p.total}]`;
    if (!tty) return;
    const what = p.phase === 'frame' ? `${p.video.slice(-40)} frame ${p.done}/${p.total}` : `${p.video.slice(-40)} ${p.status}`;
    process.stderr.write(`\r\x1b[K${videosLine} ${what}`);
  };
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const started = performance.now();
  try {
    const r = await prepare({ input, output, framesPerVideo: opts.frames, detectMaxSide: opts.detectMaxSide, landmarks: opts.landmarks, faceDetector: opts.faceDetector, concurrency: opts.jobs, signal: ac.signal, onProgress });
    if (tty) process.stderr.write('\r\x1b[K');
    const secs = (performance.now() - started) / 1000;
    if (opts.json) process.stdout.write(JSON.stringify({ ...r, seconds: secs }) + '\n');
    else {
      for (const f of r.failed) process.stdout.write(`failed  ${f.path}  [${f.code}] ${f.message}\n`);
      process.stdout.write(
        `prepared ${r.videos} file${r.videos === 1 ? '' : 's'} (${r.frames} frames, ${r.noFace} without a face), ` +
          `${r.skipped} already done, ${r.failed.length} failed in ${secs.toFixed(1)} s` +
          `${r.frames && secs > 0 ? ` (${(r.frames / secs).toFixed(1)} frames/s)` : ''}; index: ${r.indexPath} (${r.indexedFrames} frames)\n`,
      );
    }
    if (r.failed.length) process.exitCode = 1;
  } catch (err) {
    if (tty) process.stderr.write('\r\x1b[K');
    if ((err as LaaError).code === 'ABORT_ERR') process.stderr.write('laa-native: interrupted; rerun the same command to continue\n');
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function fail(err: unknown): never {
  const e = err as LaaError;
  process.stderr.write(`laa-native: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
  process.exit(e.code === 'EINVAL' ? 2 : 1);
}

export function buildProgram(): Command {
  const program = new Command('laa-native')
    .description('LAA-Net deepfake detection on LibTorch')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('convert')
    .description('convert an official LAA-Net checkpoint (.pth) or a safetensors file to this package\'s safetensors format')
    .argument('<input>', 'official .pth checkpoint (zip container) or .safetensors')
    .argument('<output>', 'output .safetensors file')
    .option('--dtype <dtype>', 'storage precision: float32, float64, bfloat16 or float16', 'float32')
    .option('--name <name>', 'a model name to record (model_name metadata; outputs name the model by it)')
    .action(async (input: string, output: string, opts: { dtype: DType; name?: string }) => {
      const net = await LaaNet.load(input, { dtype: 'float64' });
      try {
        await net.save(output, { dtype: opts.dtype, metadata: opts.name ? { model_name: opts.name } : undefined });
        const info = net.info;
        process.stdout.write(
          `wrote ${output} (${info.parameters.toLocaleString('en-US')} parameters, ${opts.dtype}` +
            `${info.metadata.epoch ? `, epoch ${info.metadata.epoch}` : ''})\n`,
        );
      } finally {
        net.dispose();
      }
    });

  program
    .command('convert-backbone')
    .description('convert EfficientNet weights with lukemelas names (.pth, read without executing anything, or .safetensors) into a backbone file for --init-backbone')
    .argument('<input>', 'EfficientNet state dict (.pth or .safetensors)')
    .argument('<output>', 'output .safetensors file')
    .requiredOption('--backbone <name>', BACKBONES.join(' | '))
    .option('--dtype <dtype>', 'storage precision: float32, float64, bfloat16 or float16', 'float32')
    .option('--source <text>', 'provenance to record (source metadata)')
    .option('--license <text>', 'licence to record (license metadata)')
    .action(async (input: string, output: string, opts: { backbone: Backbone; dtype: DType; source?: string; license?: string }) => {
      const metadata: Record<string, string> = {};
      if (opts.source) metadata.source = opts.source;
      if (opts.license) metadata.license = opts.license;
      const r = await convertBackbone(input, output, { backbone: opts.backbone, dtype: opts.dtype, metadata });
      process.stdout.write(
        `wrote ${output} (${opts.backbone}, ${r.tensors} tensors, ${r.parameters.toLocaleString('en-US')} parameters` +
          `${r.classifier ? ' with the ImageNet classifier' : ''}, ${opts.dtype})\n`,
      );
    });

  program
    .command('score')
    .description('score videos or images (files or directories) for face manipulation')
    .argument('<paths...>', 'video/image files or directories of them')
    .option(...framesOption)
    .option(...faceDetectorOption)
    .option(...weightsOption)
    .option(...threadsOption)
    .option(...dtypeOption)
    .option('--threshold <p>', "P(fake) from which a file is labelled fake (default: the model's calibrated likely-fake point, else 0.5)", probabilityOption('--threshold'))
    .option('--json', 'print one JSON line per file')
    .option('--all-faces', 'score every face and group them into people (the file scores as the most fake person)')
    .option('--heatmap-dir <dir>', 'write a PNG per frame: the face crop with its artifact heatmap overlaid')
    .option('--report <file.html>', 'write a self-contained HTML report (with several inputs: a directory, one <name>.html per file)')
    .action(async (paths: string[], opts) => score(paths, opts));

  evalCommand(program);
  qualityCommands(program);

  program
    .command('prepare')
    .description('prepare training data (spec 6.1): aligned 256x256 face crops and their 68 landmarks, with a JSONL index; resumable')
    .argument('<input>', 'a folder of videos/images (searched recursively) or one file')
    .argument('<output>', 'output folder (frames/, index.jsonl); an existing one is resumed')
    .option(...framesOption)
    .option(...detectMaxSideOption)
    .option(...faceDetectorOption)
    .option('--landmarks <name|file>', "facemesh (default, Apache-2.0) | dlib68 (the official model; not for commercial use) | a model file")
    .option('--jobs <n>', 'files prepared at once', intOption('--jobs', 1, 64), 1)
    .option('--json', 'print the result as one JSON line')
    .action(async (input: string, output: string, opts) => prepareCommand(input, output, opts));

  program
    .command('doctor')
    .description('explain this machine: Node, glibc, CPU features, LibTorch, CUDA, OpenCV/dlib, and run a tiny forward pass')
    .action(async () => doctor());

  program
    .command('info')
    .description('print versions, threads and devices')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const v = versions();
      if (opts.json) {
        process.stdout.write(JSON.stringify(v) + '\n');
        return;
      }
      const rows: Array<[string, string]> = [
        ['laa-native', v.laaNative],
        ['node', v.node],
        ['libtorch', `${v.libtorch} (runtime ${v.libtorchRuntime})`],
        ['opencv', v.opencv],
        ['dlib', v.dlib],
        ['mkldnn', String(v.mkldnn)],
        ['cuda', v.cuda ? `yes, ${v.cudaDevices} device(s)` : 'no'],
        ['cpu threads', String(require('node:os').availableParallelism())],
      ];
      for (const [k, val] of rows) process.stdout.write(`${k.padEnd(12)} ${val}\n`);
    });

  addTrainCommand(program);
  return program;
}

async function main() {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    fail(err);
  }
}

if (require.main === module) void main();
