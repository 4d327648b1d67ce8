// Bad input gets a typed error with a stable code and never takes the process down.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, DisposedError, LaaError, LaaNet, versions, type Tensor } from '../src';
import { tmpDir } from './support/paths';
import { readSafetensors, writeSafetensors } from './support/safetensors';

const dir = tmpDir('errors');
const refFile = path.join(dir, 'reference.safetensors');
let net: LaaNet;

function input(n: number, size = 64): Tensor {
  const data = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
  return { data, shape: [n, 3, size, size] };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LaaError);
    return (err as LaaError).code;
  }
  return undefined;
}

beforeAll(async () => {
  net = await LaaNet.reference(undefined, { dtype: 'float32' });
  await net.save(refFile);
});
afterAll(() => net.dispose());

describe('weights files', () => {
  it('reports a missing file as ENOENT', async () => {
    await expect(LaaNet.load(path.join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports a text file as ECORRUPT', async () => {
    const f = path.join(dir, 'notes.pth');
    fs.writeFileSync(f, 'these are not weights\n');
    const err = await LaaNet.load(f).catch((e) => e);
    expect(err.code).toBe('ECORRUPT');
    expect(err.message).toMatch(/zip|checkpoint|pickle/i);
  });

  it('reports a truncated safetensors file as ECORRUPT', async () => {
    const f = path.join(dir, 'truncated.safetensors');
    const bytes = fs.readFileSync(refFile);
    fs.writeFileSync(f, bytes.subarray(0, bytes.length >> 1));
    const err = await LaaNet.load(f).catch((e) => e);
    expect(err.code).toBe('ECORRUPT');
    expect(err.message).toContain('data_offsets');
  });

  it('names missing and unexpected keys', async () => {
    const f = path.join(dir, 'wrong-keys.safetensors');
    writeSafetensors(f, { 'fc.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } });
    const err = await LaaNet.load(f).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain('missing keys: _conv_stem.weight');
    expect(err.message).toContain('unexpected keys: fc.weight');
  });

  it('names a wrongly shaped key with both shapes', async () => {
    const { tensors, metadata } = readSafetensors(refFile);
    tensors['hm.3.bias'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
    const f = path.join(dir, 'wrong-shape.safetensors');
    writeSafetensors(f, tensors, metadata);
    const err = await LaaNet.load(f).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain('hm.3.bias (expected [1], got [2])');
  });

  it('refuses inception_block and deconv_4.0 copies that disagree', async () => {
    const { tensors, metadata } = readSafetensors(refFile);
    const t = tensors['deconv_4.0.pw_block.0.weight'];
    const changed = new Float32Array(t.data as Float32Array);
    changed[0] += 1;
    tensors['deconv_4.0.pw_block.0.weight'] = { ...t, data: changed };
    const f = path.join(dir, 'alias-mismatch.safetensors');
    writeSafetensors(f, tensors, metadata);
    const err = await LaaNet.load(f).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain("'deconv_4.0.pw_block.0.weight' differs from 'inception_block.pw_block.0.weight'");
  });

  it('loads a file holding only one copy of the Inception block, with the same outputs', async () => {
    const { tensors, metadata } = readSafetensors(refFile);
    for (const k of Object.keys(tensors)) if (k.startsWith('inception_block.')) delete tensors[k];
    const f = path.join(dir, 'one-copy.safetensors');
    writeSafetensors(f, tensors, metadata);
    const other = await LaaNet.load(f);
    const x = input(1);
    const [a, b] = [await net.forward(x, { heads: ['cls'] }), await other.forward(x, { heads: ['cls'] })];
    expect(Array.from(b.cls!.data)).toEqual(Array.from(a.cls!.data));
    other.dispose();
  });

  it('rejects weights saved for another architecture', async () => {
    const { tensors } = readSafetensors(refFile);
    const f = path.join(dir, 'other-arch.safetensors');
    writeSafetensors(f, tensors, { architecture: 'resnet50' });
    await expect(LaaNet.load(f)).rejects.toMatchObject({ code: 'EWEIGHTS' });
  });
});

describe('arguments and inputs', () => {
  it('rejects an unknown dtype or device before doing any work', async () => {
    await expect(LaaNet.load(refFile, { dtype: 'float8' as never })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(LaaNet.load(refFile, { device: 'tpu' as never })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(LaaNet.load(refFile, { threads: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('fails clearly when CUDA is asked for and absent', async () => {
    if (versions().cuda) return expect((await LaaNet.load(refFile, { device: 'cuda' })).info.device).toMatch(/cuda/);
    const err = await LaaNet.load(refFile, { device: 'cuda' }).catch((e) => e);
    expect(err.code).toBe('EDEVICE');
    // A CPU build says how to get a CUDA one; a CUDA build without a GPU says what to check.
    expect(err.message).toContain(versions().cudaBuild ? 'nvidia-smi' : 'LAA_NATIVE_LIBTORCH');
  });

  it('rejects wrong input shapes and types with ESHAPE / EINVAL', async () => {
    const bad = async (x: unknown) => codeOf(net.forward(x as Tensor));
    expect(await bad({ data: new Float32Array(3 * 50 * 50), shape: [1, 3, 50, 50] })).toBe('ESHAPE');
    expect(await bad({ data: new Float32Array(10), shape: [1, 3, 64, 64] })).toBe('ESHAPE');
    expect(await bad({ data: new Float32Array(4 * 64 * 64), shape: [1, 4, 64, 64] })).toBe('ESHAPE');
    expect(await bad({ data: new Int32Array(3 * 64 * 64), shape: [1, 3, 64, 64] })).toBe('EINVAL');
    expect(await bad({ data: new Float32Array(3 * 64 * 64), shape: [1, 3, 64, -64] })).toBe('ESHAPE');
    expect(await bad(null)).toBe('EINVAL');
    // The model still works afterwards.
    expect((await net.forward(input(1), { heads: ['cls'] })).cls!.shape).toEqual([1, 1]);
  });

  it('throws DisposedError after dispose, and lets queued work finish', async () => {
    const m = await LaaNet.load(refFile);
    const pending = m.forward(input(1), { heads: ['cls'] });
    m.dispose();
    expect((await pending).cls!.shape).toEqual([1, 1]);
    await expect(m.forward(input(1))).rejects.toBeInstanceOf(DisposedError);
    await expect(m.save(path.join(dir, 'x.safetensors'))).rejects.toMatchObject({ code: 'EDISPOSED' });
    expect(() => m.info).toThrow(DisposedError);
    expect(m.disposed).toBe(true);
    m.dispose(); // twice is harmless
  });

  it('cancels queued calls through an AbortSignal', async () => {
    const controller = new AbortController();
    const first = net.forward(input(2, 128));
    const second = net.forward(input(1), { signal: controller.signal });
    controller.abort(new Error('user cancelled'));
    await expect(second).rejects.toBeInstanceOf(AbortError);
    await expect(second).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect((await first).cls!.shape).toEqual([2, 1]);
    const pre = new AbortController();
    pre.abort();
    await expect(net.forward(input(1), { signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
  });
});

describe('the event loop', () => {
  it('keeps running while the network works on a worker thread', async () => {
    let ticks = 0;
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      ticks++;
    }, 5);
    await net.forward(input(2, 384), { heads: ['cls'] });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(10);
    expect(worst).toBeLessThan(100);
  });
});
