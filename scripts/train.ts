/**
 * Train LAA-Net from the command line (issue #4):
 *   npm run train -- <prepared-data> --out runs/x [--epochs N --input-size 256 --resume ...]
 * The same options as `laa-native train --help`. The library API it drives
 * is `Trainer` (src/train/trainer.ts); this file is a thin TypeScript entry point.
 */
import { Command, CommanderError } from 'commander';
import { addTrainCommand } from '../src/cli/train';
import { LaaError } from '../src/binding/errors';

async function main() {
  const program = new Command('train').exitOverride();
  addTrainCommand(program);
  try {
    const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
    await program.parseAsync(['node', 'train', 'train', ...args]);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    const e = err as LaaError;
    process.stderr.write(`laa-native train: ${e.code ?? 'ERROR'}: ${e.message}\n`);
    process.exit(e.code === 'EINVAL' ? 2 : 1);
  }
}

void main();
