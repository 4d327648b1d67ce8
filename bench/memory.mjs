// Child process of bench/run.mjs: load the model, run a batch of 8, print peak RSS.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LaaNet } = require(path.join(root, 'lib'));
const threads = Number(process.argv[2] ?? 2);

const net = await LaaNet.reference(undefined, { dtype: 'float32', threads });
const x = { data: new Float32Array(8 * 3 * 384 * 384).fill(0.25), shape: [8, 3, 384, 384] };
await net.forward(x, { heads: ['cls'] });
const clsPeak = process.resourceUsage().maxRSS / 1024;
await net.forward(x);
const fullPeak = process.resourceUsage().maxRSS / 1024;
console.log(`\npeak RSS, load + batch of 8 (fp32): cls path ${clsPeak.toFixed(0)} MB; after a full forward (all heads) ${fullPeak.toFixed(0)} MB`);
net.dispose();
