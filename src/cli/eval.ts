/**
 * `laa-native eval`: scores labelled real and fake files and prints the
 * video- and frame-level metrics (a table, or JSON), optionally a ROC PNG.
 */
import { loadWeights } from '../model/bundled';
import { readCalibration } from '../model/verdict';
import type { FaceDetectorName } from '../model/faces';
import { Detector } from '../detect/detector';
import type { DTypeOption } from '../model/laanet';
import type { Command } from 'commander';
import { DEFAULT_THRESHOLD, faceDetectorOption, dtypeOption, threadsOption, weightsOption, framesOption, probabilityOption } from './options';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LaaError } from '../binding/errors';
import { evaluate, type EvalReport } from '../eval/evaluate';
import type { BinaryMetrics } from '../eval/metrics';
import { writeRocPng } from '../eval/roc';

interface EvalCliOptions {
  real?: string[];
  fake?: string[];
  frames: number;
  weights?: string;
  threads?: number;
  dtype?: DTypeOption;
  threshold: number;
  json?: boolean;
  roc?: string;
  faceDetector?: FaceDetectorName;
}


/** The metrics table `laa-native eval` prints. */
export function formatEvalTable(r: EvalReport): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a').padStart(7);
  const row = (name: string, m: BinaryMetrics) =>
    `${name.padEnd(6)} ${String(m.n).padStart(6)} ${String(m.nReal).padStart(6)} ${String(m.nFake).padStart(6)} ${f(m.auc)} ${f(m.ap)} ${f(m.accuracy)} ${f(m.eer)}\n`;
  let out = `${'level'.padEnd(6)} ${'n'.padStart(6)} ${'real'.padStart(6)} ${'fake'.padStart(6)} ${'AUC'.padStart(7)} ${'AP'.padStart(7)} ${'ACC'.padStart(7)} ${'EER'.padStart(7)}\n`;
  out += row('video', r.video) + row('frame', r.frame);
  const row2 = (name: string, m: BinaryMetrics) =>
    `${name.padEnd(6)} ${f(m.tprAt1Fpr).padStart(10)} ${f(m.tprAt5Fpr).padStart(10)} ${f(m.eerThreshold).padStart(10)} ${f(m.ece).padStart(7)}\n`;
  out += `${'level'.padEnd(6)} ${'TPR@1%FPR'.padStart(10)} ${'TPR@5%FPR'.padStart(10)} ${'EER thr.'.padStart(10)} ${'ECE'.padStart(7)}\n`;
  out += row2('video', r.video) + row2('frame', r.frame);
  const total = r.items.length + r.failed.length;
  out += `scored ${r.items.length}/${total} files (ACC at P(fake) >= ${r.settings.threshold}, ${r.settings.frames} frames per video)`;
  out += r.failed.length ? `; failed, excluded:\n${r.failed.map((x) => `  ${x.path}  [${x.code}] ${x.message}`).join('\n')}\n` : '\n';
  out += `model ${r.model.source}${r.model.untrained ? ' (UNTRAINED: the numbers are meaningless)' : ''}; ${(r.elapsedMs / 1000).toFixed(1)} s\n`;
  return out;
}

async function run(dir: string | undefined, opts: EvalCliOptions) {
  let { real, fake } = opts;
  if (dir !== undefined) {
    if (real || fake) throw new LaaError('EINVAL', 'Expected either a folder <dir> (holding real/ and fake/) or --real and --fake, not both');
    real = [path.join(dir, 'real')];
    fake = [path.join(dir, 'fake')];
    for (const d of [...real, ...fake])
      if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new LaaError('ENOENT', `Expected a folder '${d}' (eval <dir> reads <dir>/real and <dir>/fake)`);
  }
  if (!real?.length || !fake?.length) throw new LaaError('EINVAL', 'Expected --real <paths...> and --fake <paths...>, or a folder <dir> holding real/ and fake/');
  const net = await loadWeights(opts.weights, opts.threads, opts.dtype);
  const tty = process.stderr.isTTY;
  const detector = await Detector.create({ weights: net, faceDetector: opts.faceDetector });
  const report = await evaluate({
    real,
    fake,
    frames: opts.frames,
    detector,
    threads: opts.threads,
    threshold: opts.threshold,
    onProgress: tty ? ({ done, total, file }) => process.stderr.write(`\r\x1b[K${done}/${total} ${path.basename(file).slice(0, 50)}`) : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (opts.roc) {
    // The model's verdict thresholds, when it carries them, are marked on the video curve.
    const cal = readCalibration(net.info.metadata);
    const thresholds = cal ? [{ name: 'uncertain', value: cal.uncertain }, { name: 'likely-fake', value: cal.likelyFake }] : [];
    await writeRocPng(report, opts.roc, { thresholds });
  }
  detector.dispose();
  net.dispose();
  process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : formatEvalTable(report));
  if (report.failed.length) process.exitCode = 1;
}

/** Adds the `eval` subcommand. */
export function evalCommand(program: Command): void {
  program
    .command('eval')
    .description('evaluate on labelled files: video- and frame-level AUC, AP, accuracy, EER')
    .argument('[dir]', 'a folder holding real/ and fake/ (instead of --real and --fake)')
    .option('--real <paths...>', 'real videos/images, or directories of them')
    .option('--fake <paths...>', 'fake videos/images, or directories of them')
    .option(...framesOption)
    .option(...faceDetectorOption)
    .option(...weightsOption)
    .option(...threadsOption)
    .option(...dtypeOption)
    .option('--threshold <p>', 'P(fake) from which a file or frame counts as fake (accuracy)', probabilityOption('--threshold'), DEFAULT_THRESHOLD)
    .option('--json', 'print the whole report as JSON (undefined metrics are null)')
    .option('--roc <file.png>', 'write the ROC curves (video and frame level) as a PNG')
    .action(async (dir: string | undefined, opts: EvalCliOptions) => run(dir, opts));
}
