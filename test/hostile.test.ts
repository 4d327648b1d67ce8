// Hostile inputs through the public API (issue #17): each case the attack
// report found, kept as a regression test. None may hang, exhaust memory,
// read another file than the one named, make a network request, crash the
// process or come back as EINTERNAL or a raw Node error.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, LaaNet, readWeights, Trainer, readPreparedIndex, type Tensor } from '../src';
import { repoRoot, tmpDir } from './support/paths';
import { readSafetensors, writeSafetensors } from './support/safetensors';

const dir = tmpDir('hostile');
const media = path.join(repoRoot, 'test', 'fixtures', 'media');
const clip = path.join(media, 'talking-head-2.mp4');
const cli = path.join(repoRoot, 'lib', 'cli', 'main.js');
let net: LaaNet;
let detector: Detector;

beforeAll(async () => {
  net = await LaaNet.reference(undefined, { backbone: 'efficientnet-lite0', threads: 2 });
  detector = await Detector.create({ weights: net });
});
afterAll(() => {
  detector?.dispose();
  net?.dispose();
});

// What a CLI scoring run costs anyway (the process, LibTorch, the model, one small clip): a PyPI torch with its
// CUDA libraries takes ~1.4 GB before it scores anything, Debian's ~0.7 GB.
let baselineMb = 0;
const limitMb = () => Math.max(1500, baselineMb + 300);

/** Peak RSS (MB) and output of a CLI run in a fresh process. */
function cliPeak(args: string[]): { rssMb: number; stdout: string; status: number | null } {
  const hook = path.join(dir, 'rss-hook.js');
  fs.writeFileSync(hook, "process.on('exit', () => process.stderr.write('RSS ' + process.resourceUsage().maxRSS + '\\n'));\n");
  const r = spawnSync(process.execPath, ['-r', hook, cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const rss = Number(/RSS (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  return { rssMb: rss, stdout: r.stdout, status: r.status };
}

describe('paths are local files, nothing else', () => {
  it('names that FFmpeg would read as protocols score as the text files they are, and no request leaves', async () => {
    const d = path.join(dir, 'names');
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(path.join(d, 'http:', '127.0.0.1:18931'), { recursive: true });
    fs.copyFileSync(clip, path.join(d, 'a.mp4'));
    const names = ['concat:a.mp4|a.mp4', 'file:a.mp4', 'subfile,,start,0,end,0,,:a.mp4', path.join('http:', '127.0.0.1:18931', 'x.mp4')];
    for (const n of names) fs.writeFileSync(path.join(d, n), 'not a video\n');
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((r) => server.listen(18931, '127.0.0.1', () => r()));
    const cwd = process.cwd();
    try {
      process.chdir(d); // relative names, as a service scoring user-named files would pass them
      for (const n of names) {
        const err = await detector.scoreVideo(n, { frames: 2 }).catch((e) => e);
        expect(err.code, n).toBe('EUNSUPPORTED');
        expect(err.message, n).toContain('not a readable video');
      }
      expect((await detector.scoreVideo('a.mp4', { frames: 2 })).framesSampled).toBe(2);
    } finally {
      process.chdir(cwd);
      server.close();
    }
    expect(requests).toEqual([]);
  });

  it('refuses paths with a NUL byte, and folders, FIFOs and devices with what they are', async () => {
    const face = path.join(media, 'obama-720p.jpg');
    for (const call of [() => detector.scoreImage(`${face}\0.txt`), () => LaaNet.load(`${face}\0.safetensors`), () => readWeights(`${face}\0`)])
      await expect(call()).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('NUL') });
    const fifo = path.join(dir, 'fifo');
    fs.rmSync(fifo, { force: true });
    execFileSync('mkfifo', [fifo]);
    for (const [p, kind] of [[dir, 'a directory'], ['/dev/zero', 'a character device'], [fifo, 'a FIFO']]) {
      for (const call of [() => LaaNet.load(p), () => readWeights(p), () => detector.scoreVideo(p)]) {
        const err = await call().catch((e) => e);
        expect(err.code, p).toBe('EINVAL');
        expect(err.message, p).toContain(kind);
      }
    }
  });

  it('keeps prepared-index image paths inside their folder, and says when index.jsonl is a folder', async () => {
    const d = path.join(dir, 'prepared-escape');
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
    const rec = { video: 'v', source: 's', frame: 0, image: '../../secret.png', landmarks: [[1, 2]], origLandmarks: [[1, 2]], box: [0, 0, 1, 1], label: 0 };
    fs.writeFileSync(path.join(d, 'index.jsonl'), JSON.stringify(rec) + '\n');
    await expect(readPreparedIndex(d)).rejects.toMatchObject({ code: 'ECORRUPT', message: expect.stringContaining('expected "image" to be a path inside') });
    await expect(Trainer.create({ data: d, outDir: path.join(dir, 'out-escape') })).rejects.toMatchObject({ code: 'ECORRUPT' });
    const d2 = path.join(dir, 'prepared-folder');
    fs.mkdirSync(path.join(d2, 'index.jsonl'), { recursive: true });
    await expect(readPreparedIndex(d2)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('is a directory') });
  });
});

describe('memory stays bounded', () => {
  beforeAll(() => {
    baselineMb = cliPeak(['score', clip, '--frames', '2', '--weights', 'untrained', '--json']).rssMb;
  }, 120_000);

  it('refuses an 8000×8000 video before decoding it (peak RSS < 1.5 GB, or baseline + 300 MB)', () => {
    const huge = path.join(dir, 'huge8000.mp4');
    if (!fs.existsSync(huge))
      execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=8000x8000:r=2:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', huge]);
    const r = cliPeak(['score', huge, '--frames', '100', '--weights', 'untrained', '--json']);
    const line = JSON.parse(r.stdout.trim());
    expect(line).toMatchObject({ ok: false, code: 'ETOOLARGE' });
    expect(line.error).toContain('8000x8000 px are above the limit of 33177600 px');
    expect(r.rssMb).toBeLessThan(limitMb());
  }, 180_000);

  it('refuses a PNG whose text chunk claims 2^31 bytes before libpng allocates them (peak RSS < 1.5 GB, or baseline + 300 MB)', () => {
    const chunk = (type: string, data: Buffer, claimed = data.length) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(claimed, 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, data, Buffer.alloc(4)]); // CRC unchecked by the walk
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(16, 0);
    ihdr.writeUInt32BE(16, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('tEXt', Buffer.from('Comment\0x'), 0x7fffffff), chunk('IEND', Buffer.alloc(0))]);
    const file = path.join(dir, 'bomb.png');
    fs.writeFileSync(file, png);
    const r = cliPeak(['score', file, '--weights', 'untrained', '--json']);
    const line = JSON.parse(r.stdout.trim());
    expect(line).toMatchObject({ ok: false, code: 'ECORRUPT' });
    expect(line.error).toContain("chunk 'tEXt' claims 2147483647 bytes");
    expect(r.rssMb).toBeLessThan(limitMb());
  }, 120_000);

  it('caps threads at 4 per core (EINVAL, not an OpenMP abort)', async () => {
    for (const call of [() => LaaNet.reference(undefined, { threads: 1024 }), () => Detector.create({ weights: path.join(dir, 'x'), threads: 1024 })])
      await expect(call()).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('4 per core') });
  });
});

describe('weights files: every field validated', () => {
  let file: string;
  let tensors: ReturnType<typeof readSafetensors>['tensors'];
  let metadata: Record<string, string>;
  beforeAll(async () => {
    file = path.join(dir, 'lite0.safetensors');
    await net.save(file);
    ({ tensors, metadata } = readSafetensors(file));
  });

  it.each(['4096', '-64', 'abc', '250', '32'])('refuses input_size %s (EWEIGHTS naming the field), so the scorer never runs at a size nobody asked for', async (size) => {
    const bad = path.join(dir, `size-${size}.safetensors`);
    writeSafetensors(bad, tensors, { ...metadata, input_size: size });
    const err = await LaaNet.load(bad).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain(`input_size '${size}'; expected a multiple of 32 from 64 to 1024`);
    await expect(net.save(path.join(dir, 'x.safetensors'), { metadata: { input_size: size } })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  /** The file with its JSON header edited by `edit` (data unchanged). */
  function withHeader(name: string, edit: (h: Record<string, any>) => void): string {
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    delete header.__metadata__.data_sha256;
    edit(header);
    let json = JSON.stringify(header);
    while ((json.length + 8) % 8) json += ' ';
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const out = path.join(dir, name);
    fs.writeFileSync(out, Buffer.concat([len, Buffer.from(json), buf.subarray(8 + n)]));
    return out;
  }

  it('refuses shapes whose element or byte count wraps around 2^64, naming the tensor (ECORRUPT, not a LibTorch error)', async () => {
    for (const shape of [[2 ** 32, 2 ** 32, 2], [2 ** 62, 4]]) {
      const bad = withHeader('overflow.safetensors', (h) => (h['cls.5.bias'].shape = shape));
      const err = await LaaNet.load(bad).catch((e) => e);
      expect(err.code).toBe('ECORRUPT');
      expect(err.message).toMatch(/tensor 'cls\.5\.bias' has a shape whose (element|byte) count overflows 64 bits/);
    }
  });

  it('refuses data_offsets and shapes given as floats or negatives', async () => {
    const floats = withHeader('floats.safetensors', (h) => (h['cls.5.bias'].data_offsets = h['cls.5.bias'].data_offsets.map((x: number) => x + 0.5)));
    await expect(LaaNet.load(floats)).rejects.toMatchObject({ code: 'ECORRUPT', message: expect.stringContaining("tensor 'cls.5.bias' has data_offsets entry") });
    const neg = withHeader('neg.safetensors', (h) => (h['cls.5.bias'].shape = [-1]));
    await expect(LaaNet.load(neg)).rejects.toMatchObject({ code: 'ECORRUPT', message: expect.stringContaining('expected a non-negative integer') });
    const meta = withHeader('meta.safetensors', (h) => (h.__metadata__.input_size = 256));
    await expect(LaaNet.load(meta)).rejects.toMatchObject({ code: 'ECORRUPT', message: expect.stringContaining("metadata entry 'input_size' is a number") });
  });

  it('checks the data SHA-256 this package records: a flipped byte is ECORRUPT', async () => {
    expect(metadata.data_sha256).toMatch(/^[0-9a-f]{64}$/);
    const buf = fs.readFileSync(file);
    buf[buf.length - 3] ^= 0x40;
    const flipped = path.join(dir, 'flipped.safetensors');
    fs.writeFileSync(flipped, buf);
    await expect(LaaNet.load(flipped)).rejects.toMatchObject({ code: 'ECORRUPT', message: expect.stringContaining('does not match the SHA-256 in its metadata') });
  });
});

describe('inputs the fuzzers found (native/fuzz/seeds/regress-*, replayed under UBSan by every fuzz run)', () => {
  it('a legacy .pth whose pickle keys a dict by a float beyond int64 gets a typed error', async () => {
    // Converting that float to int64 was undefined behaviour in the unpickler's key interning.
    const file = path.join(repoRoot, 'native', 'fuzz', 'seeds', 'pth', 'regress-float-key-out-of-range.pth');
    const err = await readWeights(file).catch((e) => e);
    expect(['EUNSAFE', 'ECORRUPT']).toContain(err.code);
    expect(err.message).toContain('regress-float-key-out-of-range.pth');
  });
});

describe('arguments at the API boundary', () => {
  const x: Tensor = { data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, 64] };

  it('forward: options of the wrong type are EINVAL naming the option', async () => {
    await expect(net.forward(x, { heads: 5 as never })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('options.heads') });
    await expect(net.forward(x, null as never)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('options') });
    await expect(net.forward(x, { signal: {} as never })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('options.signal') });
    const throwing = { get data(): Float32Array { throw new Error('boom'); }, shape: [1, 3, 64, 64] };
    await expect(net.forward(throwing)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('boom') });
  });

  it('forward: a Float32Array on a SharedArrayBuffer works', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(x.data.byteLength));
    const a = await net.forward({ data: shared, shape: x.shape }, { heads: ['cls'] });
    const b = await net.forward(x, { heads: ['cls'] });
    expect(a.cls!.data[0]).toBe(b.cls!.data[0]);
  });

  it('scoring: null options, a string threshold, a non-function onProgress, a non-signal are EINVAL', async () => {
    for (const [opts, name] of [[null, 'options'], [{ threshold: '0.5' }, 'options.threshold'], [{ onProgress: 5 }, 'options.onProgress'], [{ signal: 'x' }, 'options.signal'], [{ heatmaps: 'yes' }, 'options.heatmaps']] as const)
      await expect(detector.scoreVideo(clip, opts as never)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining(name) });
  });

  it('a throwing onProgress stops the work and rejects with what it threw', async () => {
    const boom = new Error('progress callback failed');
    const err = await detector.scoreVideo(clip, { frames: 4, onProgress: () => { throw boom; } }).catch((e) => e);
    expect(err).toBe(boom);
    expect((await detector.scoreVideo(clip, { frames: 2 })).framesSampled).toBe(2); // the detector still works
  });

  it('save: to a directory, non-string metadata, and a header over 100 MiB are EINVAL', async () => {
    await expect(net.save(dir)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('is a directory') });
    await expect(net.save(path.join(dir, 'm.safetensors'), { metadata: { note: {} as never } })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('options.metadata.note') });
    const big = 'x'.repeat(101 * 1024 * 1024);
    await expect(net.save(path.join(dir, 'big.safetensors'), { metadata: { note: big } })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining("over the format's limit") });
  });

  it('an outDir, a prepare output or a --heatmap-dir that is a file is EINVAL, not a raw EEXIST', async () => {
    const f = path.join(dir, 'a-file');
    fs.writeFileSync(f, 'x');
    const { prepare } = await import('../src');
    await expect(prepare({ input: clip, output: f })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('is a file') });
    const r = spawnSync(process.execPath, [cli, 'score', clip, '--frames', '1', '--weights', 'untrained', '--heatmap-dir', f], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("error  [EINVAL] Expected --heatmap-dir '" + f + "' to be a folder (or not to exist yet) but it is a file");
  });
});
