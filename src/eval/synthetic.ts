/**
 * How well weights separate real faces from their self-blended fakes (SBI,
 * the official `gen_SBI`) on prepared frames, e.g. from clips held out of training. Each
 * frame gives one real and one fake made without augmentation from a fixed
 * seed, so the numbers are reproducible.
 */
import { readPreparedIndex } from '../data/prepare';
import * as path from 'node:path';
import { LaaNet } from '../model/laanet';
import { binaryMetrics, type BinaryMetrics } from './metrics';
import { synthesizeSbi, type RgbImage } from '../data/synthesis';
import { invalidArgument } from '../binding/errors';
import { DEFAULT_INPUT_SIZE } from '../model/defaults';

export interface SyntheticEvalOptions {
  /** Weights file or a loaded LaaNet. */
  weights: string | LaaNet;
  /** A folder written by `prepare()` (frames the weights did not train on). */
  data: string;
  /** Frames used (evenly spread over the index); default all. */
  maxFrames?: number;
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
}

export interface SyntheticEvalReport extends BinaryMetrics {
  frames: number;
  inputSize: number;
  /** Mean P(fake) of the reals and of the fakes. */
  meanReal: number;
  meanFake: number;
}

function toInput(images: RgbImage[], size: number): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(images.length * 3 * size * size);
  images.forEach((img, n) => {
    const base = n * 3 * size * size;
    for (let i = 0; i < size * size; i++)
      for (let c = 0; c < 3; c++) data[base + c * size * size + i] = img.data[3 * i + c] / 127.5 - 1;
  });
  return { data, shape: [images.length, 3, size, size] };
}

export async function evaluateSynthetic(opts: SyntheticEvalOptions): Promise<SyntheticEvalReport> {
  if (typeof opts.data !== 'string') throw invalidArgument('options.data', 'a prepared data folder', opts.data);
  const owns = typeof opts.weights === 'string';
  const net = typeof opts.weights === 'string' ? await LaaNet.load(opts.weights, { threads: opts.threads }) : opts.weights;
  try {
    const size = Number(net.info.metadata.input_size ?? DEFAULT_INPUT_SIZE);
    let records = await readPreparedIndex(opts.data);
    if (opts.maxFrames && records.length > opts.maxFrames) {
      const step = records.length / opts.maxFrames;
      records = Array.from({ length: opts.maxFrames }, (_, i) => records[Math.floor(i * step)]);
    }
    const labels: number[] = [];
    const scores: number[] = [];
    for (const [i, r] of records.entries()) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const pair = await synthesizeSbi({
        image: path.join(opts.data, r.image), landmarks: r.landmarks, seed: (opts.seed ?? 20261125) + i,
        inputSize: size, train: false,
      });
      const out = await net.forward(toInput([pair.real, pair.fake], size), { heads: ['cls'], signal: opts.signal });
      const z = out.cls!.data;
      labels.push(0, 1);
      scores.push(1 / (1 + Math.exp(-z[0])), 1 / (1 + Math.exp(-z[1])));
    }
    const m = binaryMetrics(labels, scores);
    const mean = (lab: number) => scores.filter((_, k) => labels[k] === lab).reduce((a, b) => a + b, 0) / Math.max(1, records.length);
    return { ...m, frames: records.length, inputSize: size, meanReal: mean(0), meanFake: mean(1) };
  } finally {
    if (owns) net.dispose();
  }
}
