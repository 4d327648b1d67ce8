// One process of a training run for test/distributed.test.ts: trains with the
// options in argv[2] (JSON; `distributed` from the RANK/WORLD_SIZE/MASTER_*
// environment when it is `true`) and prints one JSON line with the step losses.
import { Trainer } from '../../lib/index.js';

const opts = JSON.parse(process.argv[2]);
const mode = process.argv[3] ?? 'run';
const trainer = await Trainer.create(opts);
const out = { rank: trainer.rank, worldSize: trainer.worldSize, losses: [], images: [], bytes: [], imagesPerSec: [] };
try {
  if (opts.exportInit) await trainer.exportWeights(opts.exportInit);
  if (mode === 'batch') {
    // What this rank trains on at (epoch 0, step 0): a digest per row.
    const { createHash } = await import('node:crypto');
    const b = await trainer.makeBatch(0, 0);
    const [n] = b.input.shape;
    const per = b.input.data.length / n;
    out.rows = [];
    for (let i = 0; i < n; i++) {
      const h = createHash('sha256').update(Buffer.from(b.input.data.buffer, b.input.data.byteOffset + i * per * 4, per * 4));
      out.rows.push(`${h.digest('hex').slice(0, 16)}:${b.labels.data[i]}`);
    }
  } else if (mode === 'overfit') {
    // The same (share of the) batch again and again: the global loss must fall.
    const batch = await trainer.makeBatch(0, 0);
    for (let i = 0; i < Number(process.argv[4] ?? 8); i++) {
      const r = await trainer.trainOnBatch(batch);
      out.losses.push(r.loss.total);
      out.images.push(r.images);
    }
  } else {
    for await (const e of trainer.run({ untilEpoch: opts.untilEpoch })) {
      if (e.type === 'step') {
        out.losses.push(e.loss.total);
        out.bytes.push(e.bytesReduced);
        (out.gradNorms ??= []).push(e.gradNorm);
        out.imagesPerSec.push(e.imagesPerSec);
      }
    }
  }
} finally {
  trainer.dispose();
}
process.stdout.write(JSON.stringify(out) + '\n');
