/**
 * `laa-native train` and `scripts/train.ts`: train from the command line with
 * a progress line; Ctrl-C writes a checkpoint and `--resume` continues it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { AbortError, LaaError } from '../binding/errors';
import { Trainer, type TrainerOptions } from '../train/trainer';
import { BACKBONES } from '../model/backbones';
import { TRAINING_DEFAULTS } from '../train/options';
import { launch } from '../train/distributed';

function num(name: string, integer: boolean) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'}`);
    return n;
  };
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

export function addTrainCommand(program: Command): Command {
  return program
    .command('train')
    .description('train LAA-Net on prepared real faces (see `laa-native prepare`) with on-the-fly pseudo-fakes')
    .argument('<data>', 'folder written by `laa-native prepare`')
    .requiredOption('-o, --out <dir>', 'output folder: checkpoint.safetensors, model.safetensors, log.jsonl')
    .option('--synthesis <kind>', 'sbi | bi', TRAINING_DEFAULTS.synthesis)
    .option('--epochs <n>', 'epochs', num('--epochs', true), TRAINING_DEFAULTS.epochs)
    .option('--batch-size <n>', 'items per step (SBI: ×2 images)', num('--batch-size', true), TRAINING_DEFAULTS.batchSize)
    .option('--frames-per-video <n>', 'frames drawn per video per epoch', num('--frames-per-video', true), TRAINING_DEFAULTS.framesPerVideo)
    .option('--input-size <n>', 'network input side (multiple of 32)', num('--input-size', true), TRAINING_DEFAULTS.inputSize)
    .option('--backbone <name>', `${BACKBONES.join(' | ')}`, TRAINING_DEFAULTS.backbone)
    .option('--lr <x>', 'base learning rate', num('--lr', false), TRAINING_DEFAULTS.lr)
    .option('--lr-booster <x>', 'peak/base LR ratio of the warm-up (1: no warm-up, linear decay after the first quarter)', num('--lr-booster', false), TRAINING_DEFAULTS.lrBooster)
    .option('--until-epoch <n>', 'stop after this many epochs, keeping the schedule of --epochs (continue later with --resume)', num('--until-epoch', true))
    .option('--freeze-epochs <n>', 'epochs with the backbone frozen', num('--freeze-epochs', true), TRAINING_DEFAULTS.freezeEpochs)
    .option('--lambda-hm <x>', 'heatmap loss weight', num('--lambda-hm', false), TRAINING_DEFAULTS.lambda.hm)
    .option('--lambda-cst <x>', 'consistency loss weight', num('--lambda-cst', false), TRAINING_DEFAULTS.lambda.cst)
    .option('--lambda-cls <x>', 'classification loss weight', num('--lambda-cls', false), TRAINING_DEFAULTS.lambda.cls)
    .option('--init-weights <file>', 'start from LAA-Net weights (fine-tuning)')
    .option('--init-backbone <file>', "start the backbone from EfficientNet weights (lukemelas names), or 'imagenet' for the package's ImageNet weights of --backbone")
    .option('--artifact-gain <x>', 'curriculum: amplify SBI artifacts ×x at epoch 0, falling to ×1 (with --artifact-gain-epochs)', num('--artifact-gain', false), TRAINING_DEFAULTS.artifactGain.start)
    .option('--artifact-gain-epochs <n>', 'epochs over which the artifact gain falls to 1 (0: off)', num('--artifact-gain-epochs', true), TRAINING_DEFAULTS.artifactGain.epochs)
    .option('--degrade <p>', 'probability of video-domain degradations (blur, noise, rescaling, H.264/JPEG) after blending', num('--degrade', false), TRAINING_DEFAULTS.degrade)
    .option('--rho <x>', 'SAM neighbourhood size (0: plain Adam, one pass per step)', num('--rho', false), TRAINING_DEFAULTS.rho)
    .option('--seed <n>', 'seed', num('--seed', true), TRAINING_DEFAULTS.seed)
    .option('--threads <n>', 'LibTorch threads', num('--threads', true))
    .option('--workers <n>', 'synthesis threads', num('--workers', true), TRAINING_DEFAULTS.workers)
    .option('--checkpoint-every <n>', 'also checkpoint every N steps', num('--checkpoint-every', true), TRAINING_DEFAULTS.checkpointEvery)
    .option('--validate-steps <n>', 'synthetic validation batches after each epoch', num('--validate-steps', true), TRAINING_DEFAULTS.validateSteps)
    .option('--precise-bn-steps <n>', 'after the last epoch, recompute BatchNorm statistics over N batches', num('--precise-bn-steps', true), TRAINING_DEFAULTS.preciseBnSteps)
    .option('--precision <p>', 'float32 | bfloat16 (autocast forward passes)', TRAINING_DEFAULTS.precision)
    .option('--device <d>', 'cpu | cuda | auto', TRAINING_DEFAULTS.device)
    .option('--eval-real <paths...>', 'real files/folders to score after epochs (with --eval-fake): video AUC/AP')
    .option('--eval-fake <paths...>', 'fake files/folders to score after epochs')
    .option('--eval-every <n>', 'evaluate every N epochs (and after the last)', num('--eval-every', true), TRAINING_DEFAULTS.evaluation.every)
    .option('--eval-frames <n>', 'frames per video when evaluating', num('--eval-frames', true), TRAINING_DEFAULTS.evaluation.frames)
    .option('--eval-precise-bn <n>', 'recompute BatchNorm statistics over N batches for each evaluation (default: --precise-bn-steps)', num('--eval-precise-bn', true))
    .option('--resume', 'continue from the checkpoint in --out')
    .option('--nproc <n>', 'data-parallel: start N training processes (ranks) on this machine', num('--nproc', true))
    .option('--nnodes <n>', 'data-parallel: machines taking part (run the same command on each, with its --node-rank)', num('--nnodes', true))
    .option('--node-rank <k>', "this machine's index among --nnodes (0 serves the rendezvous)", num('--node-rank', true))
    .option('--master-addr <host>', "machine 0's address (default 127.0.0.1)")
    .option('--master-port <port>', 'rendezvous port on machine 0 (default: a free port on one machine, 29500 on several)', num('--master-port', true))
    .option('--sync-batch-norm', 'data-parallel: BatchNorm statistics over the whole global batch')
    .option('--dist-timeout <s>', 'data-parallel: seconds a rank waits for the others before failing (EDISTRIBUTED)', num('--dist-timeout', false), 1800)
    .action(async (data: string, o) => {
      const ranks = (o.nproc ?? 1) * (o.nnodes ?? 1);
      if (ranks > 1 && !process.env.LAA_NATIVE_RANK_OF_LAUNCH) {
        // The launcher: the same command once per local rank (RANK, WORLD_SIZE, MASTER_* in their environment).
        process.exitCode = await launch({ nproc: o.nproc ?? 1, nnodes: o.nnodes, nodeRank: o.nodeRank, masterAddr: o.masterAddr, masterPort: o.masterPort });
        return;
      }
      const opts: TrainerOptions = {
        data, outDir: o.out, synthesis: o.synthesis, epochs: o.epochs, batchSize: o.batchSize,
        framesPerVideo: o.framesPerVideo, inputSize: o.inputSize, backbone: o.backbone, lr: o.lr, lrBooster: o.lrBooster, freezeEpochs: o.freezeEpochs,
        lambda: { hm: o.lambdaHm, cst: o.lambdaCst, cls: o.lambdaCls }, seed: o.seed, rho: o.rho, threads: o.threads,
        workers: o.workers, checkpointEvery: o.checkpointEvery, validateSteps: o.validateSteps, preciseBnSteps: o.preciseBnSteps, resume: !!o.resume,
        precision: o.precision, device: o.device, artifactGain: { start: o.artifactGain, epochs: o.artifactGainEpochs }, degrade: o.degrade,
      };
      // A rank of a launch (or of torchrun): the rest of the setup comes from the environment.
      if (process.env.WORLD_SIZE !== undefined)
        opts.distributed = { syncBatchNorm: !!o.syncBatchNorm, timeoutMs: Math.round(o.distTimeout * 1000) };
      else if (o.syncBatchNorm) throw new LaaError('EINVAL', '--sync-batch-norm needs several processes (--nproc, or WORLD_SIZE from a launcher)');
      if (!o.evalReal !== !o.evalFake) throw new LaaError('EINVAL', 'pass both --eval-real and --eval-fake, or neither');
      if (o.evalReal) opts.evaluation = { real: o.evalReal, fake: o.evalFake, every: o.evalEvery, frames: o.evalFrames, preciseBnSteps: o.evalPreciseBn };
      if (o.initWeights && o.initBackbone) throw new LaaError('EINVAL', 'pass either --init-weights or --init-backbone, not both');
      if (o.initWeights) opts.init = { weights: o.initWeights };
      if (o.initBackbone) opts.init = { backbone: o.initBackbone };
      await train(opts, o.untilEpoch);
    });
}

export async function train(opts: TrainerOptions, untilEpoch?: number): Promise<void> {
  const trainer = await Trainer.create(opts);
  const controller = new AbortController();
  const onSignal = () => {
    process.stderr.write('\nlaa-native: stopping after this step and writing a checkpoint (Ctrl-C again to quit at once)\n');
    process.removeListener('SIGINT', onSignal);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Ranks other than 0 print only their errors (the launcher prefixes them).
  const quiet = trainer.rank !== 0;
  const tty = process.stderr.isTTY && !quiet;
  const { epoch: e0, step: s0 } = trainer.position;
  if (!quiet) process.stderr.write(
    `laa-native train: ${trainer.options.backbone}, ${trainer.stepsPerEpoch} steps/epoch, ${trainer.options.epochs} epochs, input ${trainer.options.inputSize}, ` +
      `${trainer.options.synthesis.toUpperCase()}` +
      (trainer.options.degrade > 0 ? `, degraded ${Math.round(trainer.options.degrade * 100)}%` : '') +
      (trainer.options.artifactGain.epochs > 0 ? ` (artifacts ×${trainer.options.artifactGain.start} → ×1 over ${trainer.options.artifactGain.epochs} epochs)` : '') +
      `${trainer.options.rho === 0 ? ', Adam (no SAM)' : ''}${e0 || s0 ? `, resuming at epoch ${e0} step ${s0}` : ''}` +
      (trainer.worldSize > 1 ? `, ${trainer.worldSize} processes${trainer.options.distributed?.syncBatchNorm ? ' (SyncBN)' : ''}` : '') +
      '\n',
  );
  const started = Date.now();
  let done = 0;
  const total = trainer.stepsPerEpoch * trainer.options.epochs - (e0 * trainer.stepsPerEpoch + s0);
  try {
    for await (const ev of trainer.run({ signal: controller.signal, untilEpoch })) {
      if (quiet) continue;
      if (ev.type === 'step') {
        done++;
        const eta = ((Date.now() - started) / 1000 / done) * (total - done);
        const line =
          `epoch ${ev.epoch + 1}/${trainer.options.epochs} step ${ev.step + 1}/${ev.stepsPerEpoch} ` +
          `loss ${fmt(ev.loss.total)} (cls ${fmt(ev.loss.cls)} hm ${fmt(ev.loss.hm)} cst ${fmt(ev.loss.cst)}) ` +
          `acc ${(ev.accuracy * 100).toFixed(0)}% lr ${ev.lr.toExponential(2)}${ev.backboneFrozen ? ' frozen' : ''} ` +
          `${ev.imagesPerSec.toFixed(2)} img/s eta ${duration(eta)}`;
        if (tty) process.stderr.write(`\r${line.padEnd(process.stderr.columns ? process.stderr.columns - 1 : 0)}`);
        else if (ev.step % 10 === 0 || ev.step + 1 === ev.stepsPerEpoch) process.stderr.write(line + '\n');
      } else if (ev.type === 'epoch') {
        process.stderr.write(
          `${tty ? '\n' : ''}epoch ${ev.epoch + 1}: loss ${fmt(ev.loss.total)} acc ${(ev.accuracy * 100).toFixed(1)}% in ${duration(ev.seconds)}\n`,
        );
      } else if (ev.type === 'evaluation') {
        const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
        process.stderr.write(
          `  evaluation: video AUC ${f(ev.video.auc)} AP ${f(ev.video.ap)} (${ev.video.nReal} real, ${ev.video.nFake} fake` +
            `${ev.failed ? `, ${ev.failed} failed` : ''}); frame AUC ${f(ev.frame.auc)}${ev.preciseBn ? ', precise BN' : ''}; ${duration(ev.seconds)}\n`,
        );
      } else if (ev.type === 'eval') {
        process.stderr.write(`  validation: loss ${fmt(ev.loss.total)} acc ${(ev.accuracy * 100).toFixed(1)}%\n`);
      } else if (ev.type === 'checkpoint' && ev.reason !== 'interval') {
        process.stderr.write(`  checkpoint: ${ev.path} (epoch ${ev.epoch}, step ${ev.step})\n`);
      } else if (ev.type === 'done') {
        process.stderr.write(`done: weights in ${ev.weights}\n`);
      }
    }
  } catch (err) {
    if (err instanceof AbortError) {
      if (!quiet) process.stderr.write(`stopped; continue with the same command plus --resume\n`);
      process.exitCode = 130;
      return;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    trainer.dispose();
  }
}
