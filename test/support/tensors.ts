import type { Tensor } from '../../src';

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Mean over the spatial dims of an [n, c, h, w] tensor -> [n, c] values. */
export function channelMean(t: Tensor): Float64Array {
  const [n, c, h, w] = t.shape;
  const out = new Float64Array(n * c);
  const hw = h * w;
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let j = 0; j < hw; j++) s += t.data[i * hw + j];
    out[i] = s / hw;
  }
  return out;
}

/** Channels `chs` of an [n, c, h, w] tensor, as [n, chs.length, h, w]. */
export function pickChannels(t: Tensor, chs: number[]): Float64Array {
  const [n, c, h, w] = t.shape;
  const hw = h * w;
  const out = new Float64Array(n * chs.length * hw);
  for (let i = 0; i < n; i++)
    chs.forEach((ch, k) => {
      for (let j = 0; j < hw; j++) out[(i * chs.length + k) * hw + j] = t.data[(i * c + ch) * hw + j];
    });
  return out;
}

/** Horizontal flip of an [n, c, h, w] tensor. */
export function flipW(t: Tensor): Tensor {
  const [n, c, h, w] = t.shape;
  const out = new (t.data.constructor as Float32ArrayConstructor)(t.data.length);
  for (let r = 0; r < n * c * h; r++)
    for (let x = 0; x < w; x++) out[r * w + x] = t.data[r * w + (w - 1 - x)];
  return { data: out, shape: t.shape };
}
