// SAM(Adam) against a hand computation, and the LR schedule against the
// official values (`lib/optimizers/sam.py`, `lib/scheduler/linear_decay.py`;
// table in docs/IMPLEMENTATION.md, Optimisation).
import { describe, expect, it } from 'vitest';
import { _samStepLinear, scheduledLr } from '../src/train/trainer';

/** ∇ of mean((X·w − y)²) = (2/n)·Xᵀ(X·w − y). */
function grad(x: number[][], y: number[], w: number[]): number[] {
  const n = x.length;
  const r = x.map((row, i) => row.reduce((s, xi, j) => s + xi * w[j], 0) - y[i]);
  return w.map((_, j) => (2 / n) * x.reduce((s, row, i) => s + row[j] * r[i], 0));
}

/** The official SAM step (lib/optimizers/sam.py) around torch.optim.Adam (L2 decay), written out. */
function samAdamByHand(x: number[][], y: number[], w0: number[], rho: number, lr: number, wd: number, steps: number): number[] {
  let w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  for (let t = 1; t <= steps; t++) {
    const g1 = grad(x, y, w);
    const norm = Math.hypot(...g1);
    const e = g1.map((g) => (g * rho) / (norm + 1e-12));
    const g2 = grad(x, y, w.map((wi, i) => wi + e[i]));
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    w = w.map((wi, i) => {
      const g = g2[i] + wd * wi;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      return wi - (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps));
    });
  }
  return w;
}

describe('SamAdam (the optimiser the Trainer uses)', () => {
  const x = [
    [1.0, -2.0, 0.5],
    [0.3, 0.8, -1.2],
    [2.0, 0.1, 0.4],
    [-0.7, 1.5, 1.1],
  ];
  const y = [0.5, -1.0, 2.0, 0.25];
  const w0 = [0.2, -0.4, 0.9];

  for (const [rho, wd, steps] of [
    [0.05, 1e-4, 1],
    [0.05, 1e-4, 5],
    [0.5, 0, 3],
    [0, 1e-4, 5], // ρ = 0: plain Adam, one pass per step
  ] as const) {
    it(`matches a hand computation (ρ ${rho}, weight decay ${wd}, ${steps} step(s))`, async () => {
      const lr = 0.01;
      const got = await _samStepLinear({
        w: Float64Array.from(w0), x: Float64Array.from(x.flat()), xShape: [4, 3], y: Float64Array.from(y),
        rho, lr, weightDecay: wd, steps,
      });
      const want = samAdamByHand(x, y, w0, rho, lr, wd, steps);
      for (let i = 0; i < 3; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-12);
      // And SAM is not plain Adam: the ascent changes the result (Adam's first
      // step is ±lr per coordinate whatever the gradient's size, so only from step 2).
      if (steps > 1 && rho > 0) {
        const plain = samAdamByHand(x, y, w0, 0, lr, wd, steps);
        expect(Math.max(...plain.map((p, i) => Math.abs(p - got[i])))).toBeGreaterThan(1e-6);
      }
    });
  }
});

describe('scheduledLr', () => {
  it('reproduces the official LinearDecayLR values (100 epochs, base 5e-5, booster 4)', () => {
    const table: [number, number][] = [
      [0, 5.0e-5], [1, 5.6e-5], [5, 8.0e-5], [6, 8.6e-5], [12, 1.22e-4], [24, 1.94e-4],
      [25, 2.0e-4], [26, 1.9733e-4], [50, 1.3333e-4], [75, 6.667e-5], [99, 2.667e-6],
    ];
    for (const [epoch, lr] of table) expect(scheduledLr(epoch, 100)).toBeCloseTo(lr, 8);
  });
  it('scales to short runs: ramp over the first quarter, decay to zero', () => {
    expect(scheduledLr(0, 8, 1e-4)).toBeCloseTo(1e-4, 12);
    expect(scheduledLr(2, 8, 1e-4)).toBeCloseTo(4e-4, 12);
    expect(scheduledLr(8, 8, 1e-4)).toBe(0);
  });
});
