#!/usr/bin/env node
/**
 * laa-native command line.
 *   laa-native convert <checkpoint.pth> <out.safetensors> [--dtype float32]
 *   laa-native info
 * Exit codes: 0 success, 1 the work failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { LaaError } from './errors';
import { LaaNet, type DType } from './laanet';
import { versions } from './versions';

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
    .option('--dtype <dtype>', 'storage precision: float32, float64 or bfloat16', 'float32')
    .action(async (input: string, output: string, opts: { dtype: DType }) => {
      const net = await LaaNet.load(input, { dtype: 'float64' });
      try {
        await net.save(output, { dtype: opts.dtype });
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
