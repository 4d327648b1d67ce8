// SBI and BI training-sample synthesis (docs/IMPLEMENTATION.md, Data pipeline
// and synthesis) on real faces: test/fixtures/faces holds two 256×256
// official-style face crops with dlib's 68 landmarks predicted on them
// (test/support/make_face_fixtures.mjs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTargets, LaaError, synthesizeBi, synthesizeSbi, type Map2d } from '../src';
import { binding } from '../src/binding/native';
import { repoRoot } from './support/paths';
import { readPngRgb } from './support/png.mjs';

const facesDir = path.join(repoRoot, 'test', 'fixtures', 'faces');
function face(name: string): { image: string; landmarks: Array<[number, number]> } {
  const meta = JSON.parse(fs.readFileSync(path.join(facesDir, `${name}-256.json`), 'utf8'));
  return { image: path.join(facesDir, `${name}-256.png`), landmarks: meta.landmarks };
}
const obama = face('obama');
const biden = face('biden');

function max(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
}

/** Pixels (of a side×side map) within `r` (Chebyshev) of a pixel where `on` holds. */
function dilate(on: (i: number) => boolean, side: number, r: number): Uint8Array {
  const rows = new Uint8Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      if (on(y * side + x)) for (let dx = Math.max(0, x - r); dx <= Math.min(side - 1, x + r); dx++) rows[y * side + dx] = 1;
  const out = new Uint8Array(side * side);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      if (rows[y * side + x]) for (let dy = Math.max(0, y - r); dy <= Math.min(side - 1, y + r); dy++) out[dy * side + x] = 1;
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

describe('synthesizeSbi', () => {
  it('returns 384² RGB images and 96² uint8 boundaries; the real boundary is empty, the fake one peaks near 255', async () => {
    const r = await synthesizeSbi({ ...obama, seed: 1, train: false });
    for (const im of [r.real, r.fake]) {
      expect([im.width, im.height, im.data.length]).toEqual([384, 384, 384 * 384 * 3]);
      expect(im.data).toBeInstanceOf(Uint8Array);
    }
    expect(r.boundaryReal.shape).toEqual([96, 96]);
    expect(r.boundaryFake.shape).toEqual([96, 96]);
    expect(max(r.boundaryReal.data)).toBe(0);
    expect(max(r.boundaryFake.data)).toBeGreaterThanOrEqual(240);
    expect(r.mask).toBeUndefined();
  });

  it('other sizes (256 input, 64 targets) for fast experiments', async () => {
    const r = await synthesizeSbi({ ...obama, seed: 2, inputSize: 256, targetSize: 64 });
    expect([r.fake.width, r.fake.height]).toEqual([256, 256]);
    expect(r.boundaryFake.shape).toEqual([64, 64]);
  });

  it.each([3, 4, 5, 6])('seed %i, no augmentation: fake == real wherever M == 0, and differs inside the mask', async (seed) => {
    const r = await synthesizeSbi({ ...obama, seed, train: false, debug: true });
    const m = r.mask!;
    expect(m.shape).toEqual([384, 384]);
    let outside = 0, inside = 0, differ = 0;
    expect(-max(m.data.map((v) => -v))).toBeGreaterThanOrEqual(0);
    expect(max(m.data)).toBeLessThanOrEqual(1 + 1e-6);
    for (let i = 0; i < m.data.length; i++) {
      const d = r.fake.data[3 * i] !== r.real.data[3 * i] || r.fake.data[3 * i + 1] !== r.real.data[3 * i + 1] || r.fake.data[3 * i + 2] !== r.real.data[3 * i + 2];
      if (m.data[i] === 0) {
        outside++;
        if (d) throw new Error(`pixel ${i} differs outside the mask`);
      } else if (m.data[i] > 0.9) {
        inside++;
        if (d) differ++;
      }
    }
    expect(outside).toBeGreaterThan(10_000);
    expect(inside).toBeGreaterThan(10_000);
    expect(differ / inside).toBeGreaterThan(0.2);
  });

  it.each([7, 8, 9])('seed %i: B = 255·4M(1−M) of the warped mask: 0 where M is 0 or 1, peak where M ≈ 0.5', async (seed) => {
    const r = await synthesizeSbi({ ...obama, seed, train: true, debug: true });
    const m = r.maskTarget! as Map2d<Float32Array>;
    const b = r.boundaryFake.data;
    expect(m.shape).toEqual([96, 96]);
    let worst = 0, zeros = 0, ones = 0;
    for (let i = 0; i < b.length; i++) {
      const expected = 255 * 4 * m.data[i] * (1 - m.data[i]);
      worst = Math.max(worst, Math.abs(b[i] - expected));
      if (m.data[i] === 0) {
        zeros++;
        if (b[i] !== 0) throw new Error(`B = ${b[i]} at ${i} where M = 0`);
      }
      if (m.data[i] >= 0.999) {
        ones++;
        if (b[i] > 2) throw new Error(`B = ${b[i]} at ${i} where M = ${m.data[i]}`);
      }
    }
    // Warping B and warping M then taking 4M(1−M) differ only by interpolation.
    expect(worst).toBeLessThan(16);
    expect(zeros).toBeGreaterThan(500);
    expect(ones).toBeGreaterThan(50);
    const peak = argmax(b);
    expect(b[peak]).toBeGreaterThanOrEqual(240);
    expect(Math.abs(m.data[peak] - 0.5)).toBeLessThan(0.15);
  });

  it('the same seed gives byte-identical output, another seed a different one', async () => {
    const a = await synthesizeSbi({ ...obama, seed: 123456789n });
    const b = await synthesizeSbi({ ...obama, seed: 123456789 });
    const c = await synthesizeSbi({ ...obama, seed: 123456790 });
    expect(same(a.real.data, b.real.data)).toBe(true);
    expect(same(a.fake.data, b.fake.data)).toBe(true);
    expect(same(a.boundaryFake.data, b.boundaryFake.data)).toBe(true);
    expect(same(a.fake.data, c.fake.data)).toBe(false);
    expect(same(a.boundaryFake.data, c.boundaryFake.data)).toBe(false);
  });

  it("epoch/index draw the trainer's per-sample seed: deterministic, distinct per (epoch, index)", async () => {
    const draw = (epoch: number, index: number) => synthesizeSbi({ ...obama, seed: 5, epoch, index, inputSize: 128, targetSize: 32 });
    const [a, a2, b, c, raw] = await Promise.all([draw(0, 1), draw(0, 1), draw(1, 0), draw(0, 2), synthesizeSbi({ ...obama, seed: 5, inputSize: 128, targetSize: 32 })]);
    expect(same(a.fake.data, a2.fake.data)).toBe(true);
    for (const other of [b, c, raw]) expect(same(a.fake.data, other.fake.data)).toBe(false);
  });

  it('debug outputs do not change the sample', async () => {
    const plain = await synthesizeSbi({ ...obama, seed: 51 });
    const debug = await synthesizeSbi({ ...obama, seed: 51, debug: true });
    expect(same(plain.fake.data, debug.fake.data)).toBe(true);
    expect(same(plain.boundaryFake.data, debug.boundaryFake.data)).toBe(true);
    const bPlain = await synthesizeBi({ ...biden, partner: obama, seed: 52, fakeProbability: 1 });
    const bDebug = await synthesizeBi({ ...biden, partner: obama, seed: 52, fakeProbability: 1, debug: true });
    expect(same(bPlain.image.data, bDebug.image.data)).toBe(true);
  });

  it('gives the same samples from concurrent calls as from sequential ones (no shared random state)', async () => {
    const seeds = [11, 12, 13, 14, 15, 16];
    const sequential = [];
    for (const seed of seeds) sequential.push(await synthesizeSbi({ ...obama, seed }));
    const concurrent = await Promise.all(seeds.map((seed) => synthesizeSbi({ ...obama, seed })));
    for (let i = 0; i < seeds.length; i++) {
      expect(same(sequential[i].fake.data, concurrent[i].fake.data)).toBe(true);
      expect(same(sequential[i].boundaryFake.data, concurrent[i].boundaryFake.data)).toBe(true);
    }
  });

  it('takes RGB pixels as well as a file, with the same result', async () => {
    const viaFile = await synthesizeSbi({ ...obama, seed: 21, train: false, inputSize: 256, targetSize: 64 });
    const viaPixels = await synthesizeSbi({ ...obama, image: readPngRgb(obama.image), seed: 21, train: false, inputSize: 256, targetSize: 64 });
    expect(same(viaFile.fake.data, viaPixels.fake.data)).toBe(true);
    expect(same(viaFile.boundaryFake.data, viaPixels.boundaryFake.data)).toBe(true);
  });

  it('encodeTargets: heatmap max 1 for a synthesized fake boundary, all zeros for the real one', async () => {
    const r = await synthesizeSbi({ ...obama, seed: 31 });
    const fake = encodeTargets({ data: r.boundaryFake.data, shape: [96, 96] });
    const real = encodeTargets({ data: r.boundaryReal.data, shape: [96, 96] });
    expect(max(fake.heatmap)).toBe(1);
    expect(max(fake.consistency)).toBeGreaterThan(0.9);
    expect(max(real.heatmap)).toBe(0);
    expect(max(real.consistency)).toBe(0);
  });
});

describe('synthesizeBi', () => {
  it('a blended sample: label 1, B peaks near 255, and the image differs from the background only inside the (dilated) mask', async () => {
    const r = await synthesizeBi({ ...biden, partner: obama, seed: 41, train: false, debug: true, fakeProbability: 1 });
    expect(r.label).toBe(1);
    expect([r.image.width, r.image.height]).toEqual([384, 384]);
    expect(r.boundary.shape).toEqual([96, 96]);
    expect(max(r.boundary.data)).toBeGreaterThanOrEqual(200);
    const m = r.mask!.data;
    const bg = r.background!.data;
    // Resizes after the blend (317 px, the random down-scale, the final warp) spread it by a few pixels.
    const near = dilate((i) => m[i] > 0, 384, 16);
    let inside = 0, differ = 0;
    for (let i = 0; i < m.length; i++) {
      const d = r.image.data[3 * i] !== bg[3 * i] || r.image.data[3 * i + 1] !== bg[3 * i + 1] || r.image.data[3 * i + 2] !== bg[3 * i + 2];
      if (!near[i] && d) throw new Error(`pixel ${i} differs far from the mask`);
      if (m[i] > 0.9) {
        inside++;
        if (d) differ++;
      }
    }
    expect(inside).toBeGreaterThan(5_000);
    expect(differ / inside).toBeGreaterThan(0.5);
  });

  it('a real sample: label 0, empty boundary, the image is the background', async () => {
    const r = await synthesizeBi({ ...biden, partner: obama, seed: 42, debug: true, fakeProbability: 0 });
    expect(r.label).toBe(0);
    expect(max(r.boundary.data)).toBe(0);
    expect(max(r.mask!.data)).toBe(0);
    expect(same(r.image.data, r.background!.data)).toBe(true);
  });

  it('draws real and fake about equally by default; the same seed gives byte-identical output', async () => {
    const labels = [];
    for (let seed = 100; seed < 116; seed++) labels.push((await synthesizeBi({ ...biden, partner: { image: obama.image }, seed })).label);
    expect(labels).toContain(0);
    expect(labels).toContain(1);
    const a = await synthesizeBi({ ...biden, partner: obama, seed: 7, fakeProbability: 1 });
    const b = await synthesizeBi({ ...biden, partner: obama, seed: 7, fakeProbability: 1 });
    expect(same(a.image.data, b.image.data)).toBe(true);
    expect(same(a.boundary.data, b.boundary.data)).toBe(true);
    const fake = encodeTargets({ data: a.boundary.data, shape: [96, 96] });
    expect(max(fake.heatmap)).toBe(1);
  });
});

describe('bad input', () => {
  const expectCode = async (p: Promise<unknown>, code: string, message?: RegExp, raw = false) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!raw) expect(err).toBeInstanceOf(LaaError);
    expect((err as LaaError).code).toBe(code);
    if (message) expect((err as LaaError).message).toMatch(message);
  };

  it('wrong landmark count', async () => {
    await expectCode(synthesizeSbi({ ...obama, landmarks: obama.landmarks.slice(0, 67), seed: 1 }), 'EINVAL', /68/);
    await expectCode(synthesizeBi({ ...obama, partner: { image: biden.image, landmarks: biden.landmarks.slice(0, 5) }, seed: 1 }), 'EINVAL', /68/);
  });

  it('wrong landmark count past the TypeScript checks (the C++ check)', async () => {
    const lm = Float64Array.from(obama.landmarks.slice(0, 60).flat());
    await expectCode(binding().synthesizeSbi(obama.image, 0, 0, lm, 1n, { inputSize: 384, targetSize: 96, train: true }), 'EINVAL', /68 landmarks/, true);
  });

  it('empty or tiny image', async () => {
    await expectCode(synthesizeSbi({ ...obama, image: { data: new Uint8Array(0), width: 0, height: 0 }, seed: 1 }), 'EINVAL', /empty/);
    await expectCode(synthesizeSbi({ ...obama, image: { data: new Uint8Array(30 * 30 * 3), width: 30, height: 30 }, seed: 1 }), 'EINVAL', /30x30/);
    await expectCode(synthesizeSbi({ ...obama, image: { data: new Uint8Array(10), width: 2, height: 2 }, seed: 1 }), 'EINVAL', /12 bytes/);
  });

  it('landmarks that put the face outside the image, bad seed or sizes', async () => {
    const far = obama.landmarks.map(([x, y]) => [x + 5000, y] as [number, number]);
    await expectCode(synthesizeSbi({ ...obama, landmarks: far, seed: 1 }), 'EINVAL', /empty/);
    await expectCode(synthesizeSbi({ ...obama, seed: -1 }), 'EINVAL');
    await expectCode(synthesizeSbi({ ...obama, seed: 1, inputSize: 1 }), 'EINVAL');
    await expectCode(synthesizeSbi({ ...obama, image: '/nonexistent/face.png', seed: 1 }), 'ENOENT');
  });
});

