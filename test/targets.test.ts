// Training targets and losses against the official encoder and loss
// (shared/fixtures/targets), plus the worked example of docs/IMPLEMENTATION.md
// (Training targets), checked against the official encoder.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTargets, LaaError, losses, type Tensor } from '../src';
import { binding } from '../src/binding/native';
import { fixturesDir } from './support/paths';
import { readSafetensors } from './support/safetensors';
import { maxAbsDiff } from './support/tensors';

const fx = readSafetensors(path.join(fixturesDir, 'targets', 'targets-losses-a.safetensors')).tensors;
const SEED = 20261125n;
const HW = 96 * 96;
const SAMPLES = 7;

function sample(t: { data: ArrayLike<number> }, i: number): number[] {
  return Array.from({ length: HW }, (_, k) => t.data[i * HW + k]);
}

function asF64(t: { data: ArrayLike<number>; shape: number[] }): Tensor {
  return { data: Float64Array.from(t.data), shape: t.shape };
}

/** v = 2u − 1 of the fixtures' fill rule, scaled (shared/fixtures/README.md). */
function fill(t: number, shape: number[], scale = 1): Tensor {
  const v = binding().fillRule(SEED, t, shape);
  const data = v.data as Float64Array;
  if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] *= scale;
  return { data, shape };
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe('encodeTargets against the official encoder', () => {
  const boundary = fx.blend_boundary_u8.data as Uint8Array;
  it.each(Array.from({ length: SAMPLES }, (_, i) => i))('sample %i: heatmap and consistency', (i) => {
    const b = boundary.subarray(i * HW, (i + 1) * HW);
    const out = encodeTargets({ data: b, shape: [1, 96, 96] });
    expect(out.heatmap).toBeInstanceOf(Float32Array);
    expect(out.heatmap.length).toBe(HW);
    expect(maxAbsDiff(out.heatmap, sample(fx.heatmap, i))).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(out.consistency, sample(fx.consistency, i))).toBeLessThanOrEqual(1e-6);
    // The focal loss's positives (== 1.0 exactly) must be the same pixels.
    const ones = (a: ArrayLike<number>) => Array.from(a).flatMap((v, k) => (v === 1 ? [k] : []));
    expect(ones(out.heatmap)).toEqual(ones(sample(fx.heatmap, i)));
  });
});

describe('losses against the official CombinedFocalLoss terms (float64)', () => {
  it('heatmap focal loss', () => {
    const v = losses.heatmapFocal(fill(300000, [7, 1, 96, 96], 4), asF64(fx.heatmap));
    expect(relErr(v, fx.loss_heatmap_focal.data[0] as number)).toBeLessThanOrEqual(1e-9);
  });
  it('classification BCE', () => {
    const v = losses.classification(fill(300001, [7, 1], 3), asF64(fx.labels));
    expect(relErr(v, fx.loss_cls_bce.data[0] as number)).toBeLessThanOrEqual(1e-9);
  });
  it('consistency BCE', () => {
    const v = losses.consistency(fill(300002, [7, 256, 96, 96]), asF64(fx.consistency));
    expect(relErr(v, fx.loss_consistency_bce.data[0] as number)).toBeLessThanOrEqual(1e-9);
  });
  it('float32 inputs give the same values to float32 precision', () => {
    const hm = fill(300000, [7, 1, 96, 96], 4);
    const v = losses.heatmapFocal({ data: Float32Array.from(hm.data), shape: hm.shape }, fx.heatmap as Tensor);
    expect(relErr(v, fx.loss_heatmap_focal.data[0] as number)).toBeLessThanOrEqual(1e-4);
  });
});

// Worked example (docs/IMPLEMENTATION.md, Training targets): a soft disk of
// radius 30 whose boundary B peaks (255) exactly on the 12 integer points at
// distance 30 from the centre.
function softDisk(): Uint8Array {
  const b = new Uint8Array(HW);
  for (let y = 0; y < 96; y++)
    for (let x = 0; x < 96; x++) {
      const r = Math.hypot(x - 48, y - 48);
      const m = Math.min(1, Math.max(0, 0.5 - (r - 30) / 6));
      b[y * 96 + x] = Math.trunc(255 * 4 * m * (1 - m));
    }
  return b;
}

describe('target properties (official _new_encode_target: drawing, consistency, real images)', () => {
  it('a real (all-zero) boundary gives all-zero targets', () => {
    const out = encodeTargets({ data: new Uint8Array(HW), shape: [96, 96] });
    expect(Math.max(...out.heatmap)).toBe(0);
    expect(Math.max(...out.consistency)).toBe(0);
  });

  it('a soft disk gives 12 exact peaks and C == B/255', () => {
    const b = softDisk();
    expect(b.filter((v) => v === 255).length).toBe(12);
    const out = encodeTargets({ data: b, shape: [96, 96] });
    expect(out.heatmap.filter((v) => v === 1).length).toBe(12);
    expect(maxAbsDiff(out.consistency, Float32Array.from(b, (v) => v / 255))).toBe(0);
  });

  // Index-arithmetic quirk of the official Gaussian drawing: with a symmetric
  // > 128 cross of extent e around one 255 point, the peak lands at
  // (j−1, i−1) for e = 8, 12, 16 and at (j, i) for e = 10, 14.
  it.each([
    [8, -1], [10, 0], [12, -1], [14, 0], [16, -1],
  ])('a cross of extent %i puts the peak at offset %i', (extent, shift) => {
    const j = 30, i = 20, k = extent / 2 - 1;
    const b = new Uint8Array(HW);
    for (let s = -k; s <= k; s++) {
      b[(j + s) * 96 + i] = 200;
      b[j * 96 + i + s] = 200;
    }
    b[j * 96 + i] = 255;
    const out = encodeTargets({ data: b, shape: [1, 96, 96] });
    const peaks = Array.from(out.heatmap).flatMap((v, p) => (v === 1 ? [p] : []));
    expect(peaks).toEqual([(j + shift) * 96 + (i + shift)]);
  });

  it('rejects bad inputs with typed errors', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(LaaError);
        return (e as LaaError).code;
      }
      return 'none';
    };
    expect(code(() => encodeTargets({ data: new Uint8Array(10), shape: [96, 96] }))).toBe('ESHAPE');
    expect(code(() => encodeTargets({ data: new Uint8Array(HW), shape: [48, 192] as never }))).toBe('ESHAPE');
    expect(code(() => encodeTargets({ data: new Float32Array(HW) as never, shape: [96, 96] }))).toBe('EINVAL');
    const t = { data: new Float64Array(HW), shape: [1, 1, 96, 96] };
    expect(code(() => losses.heatmapFocal(t, { data: new Float64Array(HW), shape: [1, 96, 96] }))).toBe('ESHAPE');
    expect(code(() => losses.classification({ data: new Float64Array(2), shape: [2, 1] }, { data: new Float64Array(3), shape: [3, 1] }))).toBe('ESHAPE');
    expect(code(() => losses.consistency({ data: new Float64Array(HW * 2), shape: [1, 2, 96, 96] }, { data: new Float64Array(HW), shape: [2, 1, 48, 96] }))).toBe('ESHAPE');
    expect(code(() => losses.consistency(t, { data: new Float64Array(3), shape: [1, 1, 96, 96] }))).toBe('ESHAPE');
  });
});
