/** `laa-native calibrate` and `laa-native robustness`: how far a model's answer can be trusted. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { LaaError } from '../binding/errors';
import { Detector } from '../detect/detector';
import { defaultModelPath, loadWeights } from '../model/bundled';
import { calibrate } from '../eval/calibrate';
import { formatRobustnessTable, robustness, ROBUSTNESS_LADDER, writeRobustnessPng } from '../eval/robustness';
import type { FaceDetectorName } from '../model/faces';
import { faceDetectorOption, dtypeOption, framesOption, threadsOption, weightsOption } from './options';

function realFake(dir: string | undefined, opts: { real?: string[]; fake?: string[] }): { real: string[]; fake: string[] } {
  if (dir !== undefined) {
    if (opts.real || opts.fake) throw new LaaError('EINVAL', 'Expected either a folder <dir> (holding real/ and fake/) or --real and --fake, not both');
    for (const d of ['real', 'fake'])
      if (!fs.existsSync(path.join(dir, d)) || !fs.statSync(path.join(dir, d)).isDirectory())
        throw new LaaError('ENOENT', `Expected a folder '${path.join(dir, d)}' (<dir> must hold real/ and fake/)`);
    return { real: [path.join(dir, 'real')], fake: [path.join(dir, 'fake')] };
  }
  if (!opts.real?.length || !opts.fake?.length) throw new LaaError('EINVAL', 'Expected --real <paths...> and --fake <paths...>, or a folder <dir> holding real/ and fake/');
  return { real: opts.real, fake: opts.fake };
}

export function qualityCommands(program: Command): void {
  program
    .command('calibrate')
    .description("set a model's verdict thresholds from its scores on real videos it never trained on (clean and degraded), written into its weights")
    .argument('<reals...>', 'real videos (files or folders) the model never trained on')
    .option('--weights <file>', 'the weights to calibrate (default: the bundled model file)')
    .option('-o, --out <file>', 'where the calibrated weights go (default: rewrite --weights in place)')
    .option(...framesOption)
    .option('--clean-only', 'score the references clean only (no degraded copies)')
    .option('--reference <words>', 'describe the reference set (stored with the thresholds)')
    .option(...threadsOption)
    .option('--json', 'print the thresholds and every reference score as JSON')
    .action(async (reals: string[], o: { weights?: string; out?: string; frames: number; cleanOnly?: boolean; reference?: string; threads?: number; json?: boolean }) => {
      const tty = process.stderr.isTTY;
      const r = await calibrate({
        weights: o.weights ?? defaultModelPath(), reals, output: o.out, frames: o.frames, cleanOnly: !!o.cleanOnly, reference: o.reference, threads: o.threads,
        onProgress: tty ? (p) => process.stderr.write(`\r\x1b[K${p.done}/${p.total} ${path.basename(p.file).slice(0, 40)} ${p.variant}`) : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        const c = r.calibration;
        process.stdout.write(
          `reference: ${c.reference} (${c.referenceScores.length} scores)\n` +
            `uncertain above   ${c.uncertain.toFixed(4)}  (at most 5 % of the reference scores are higher)\n` +
            `likely-fake above ${c.likelyFake.toFixed(4)}  (at most 1 % are higher)\n` +
            `written to ${r.output}\n`,
        );
        for (const f of r.failed) process.stdout.write(`no score: ${f.file} [${f.code}] ${f.message}\n`);
      }
    });

  program
    .command('robustness')
    .description('rescore a real/fake set under a ladder of degradations (H.264, JPEG, downscale, blur, noise): video AUC per level')
    .argument('[dir]', 'a folder holding real/ and fake/ (instead of --real and --fake)')
    .option('--real <paths...>', 'real videos/images, or directories of them')
    .option('--fake <paths...>', 'fake videos/images, or directories of them')
    .option(...framesOption)
    .option(...weightsOption)
    .option(...threadsOption)
    .option(...dtypeOption)
    .option(...faceDetectorOption)
    .option('--kinds <kinds...>', `only these degradations: ${ROBUSTNESS_LADDER.map((s) => s.kind).join(' ')}`)
    .option('--png <file>', 'write the plot (video AUC against level, one panel per degradation)')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string | undefined, o: { real?: string[]; fake?: string[]; frames: number; weights?: string; threads?: number; dtype?: 'auto'; kinds?: string[]; png?: string; json?: boolean; faceDetector?: FaceDetectorName }) => {
      const { real, fake } = realFake(dir, o);
      const net = await loadWeights(o.weights, o.threads, o.dtype);
      const detector = await Detector.create({ weights: net, faceDetector: o.faceDetector });
      const tty = process.stderr.isTTY;
      try {
        const r = await robustness({
          real, fake, detector, frames: o.frames, kinds: o.kinds,
          onProgress: tty ? (p) => process.stderr.write(`\r\x1b[K${p.done}/${p.total} ${p.kind} ${p.level ?? ''}`) : undefined,
        });
        if (tty) process.stderr.write('\r\x1b[K');
        if (o.png) await writeRobustnessPng(r, o.png);
        process.stdout.write(o.json ? JSON.stringify(r) + '\n' : formatRobustnessTable(r));
      } finally {
        detector.dispose();
        net.dispose();
      }
    });
}
