// Device selection: 'auto' (the default) resolves to what this binary and
// machine offer, 'cuda' without CUDA is a typed EDEVICE that says why, 'cpu'
// is the parity-tested CPU path. On a CUDA build with a GPU the CUDA branch
// runs the fixture instead.
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Detector, LaaNet, versions, type Tensor } from '../src';
import { fixturesDir, tmpDir } from './support/paths';
import { readSafetensors } from './support/safetensors';
import { maxAbsDiff } from './support/tensors';

const v = versions();
const ref = readSafetensors(path.join(fixturesDir, 'parity', 'reference-a.safetensors')).tensors;
const input = ref.input as Tensor;
const nets: LaaNet[] = [];
afterAll(() => nets.forEach((n) => n.dispose()));

async function reference(options: Parameters<typeof LaaNet.reference>[1]): Promise<LaaNet> {
  const net = await LaaNet.reference(undefined, options);
  nets.push(net);
  return net;
}

describe('versions()', () => {
  it('says whether the build has CUDA, and which', () => {
    expect(typeof v.cudaBuild).toBe('boolean');
    if (v.cudaBuild) expect(v.cudaVersion).toMatch(/^\d+\.\d+/);
    else expect(v.cudaVersion).toBe('');
    // A GPU is only usable from a CUDA build.
    if (!v.cudaBuild) expect(v.cuda).toBe(false);
  });
});

describe('device option', () => {
  const expected = v.cuda ? /^cuda(:\d+)?$/ : /^cpu$/;

  it("resolves 'auto', and the default, to CUDA only when this build and machine have it", async () => {
    expect((await reference({ device: 'auto' })).info.device).toMatch(expected);
    expect((await reference({})).info.device).toMatch(expected);
  });

  it("keeps 'cpu' on the CPU with the official model's outputs (float32, 1e-5)", async () => {
    const net = await reference({ device: 'cpu', dtype: 'float32' });
    expect(net.info.device).toBe('cpu');
    const out = await net.forward(input, { heads: ['cls', 'hm'] });
    expect(maxAbsDiff(out.cls!.data, ref.cls.data as Float64Array)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.hm!.data, ref.hm.data as Float64Array)).toBeLessThan(1e-5);
  });

  it.skipIf(v.cuda)("rejects 'cuda' with EDEVICE saying what was asked, what this binary has and what to do", async () => {
    const err = await LaaNet.reference(undefined, { device: 'cuda' }).catch((e) => e);
    expect(err.code).toBe('EDEVICE');
    expect(err.message).toContain("device 'cuda' was requested");
    expect(err.message).toContain('torch::cuda::is_available() is false');
    if (!v.cudaBuild) {
      expect(err.message).toContain(`CPU-only LibTorch ${v.libtorchRuntime}`);
      expect(err.message).toContain('LAA_NATIVE_LIBTORCH=/path/to/libtorch-cuda npm run prebuild');
      expect(err.message).toContain('LAA_NATIVE_VARIANT=cuda');
    }
    expect(err.message).toContain("use device 'cpu' or 'auto'");
  });

  it.skipIf(v.cuda)('passes the device through Detector.create', async () => {
    const file = path.join(tmpDir('device'), 'reference.safetensors');
    const net = await reference({ device: 'cpu' });
    await net.save(file);
    await expect(Detector.create({ weights: file, device: 'cuda' })).rejects.toMatchObject({ code: 'EDEVICE' });
  });

  it.runIf(v.cuda)('runs the fixture on CUDA in float32 within 1e-5, outputs back on the CPU', async () => {
    const net = await reference({ device: 'cuda', dtype: 'float32' });
    expect(net.info.device).toMatch(/^cuda/);
    const out = await net.forward(input);
    expect(out.cls!.data).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(out.cls!.data, ref.cls.data as Float64Array)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.hm!.data, ref.hm.data as Float64Array)).toBeLessThan(1e-5);
  });

  it("refuses float16 on the CPU (bfloat16 is the CPU's reduced precision)", async () => {
    const err = await LaaNet.reference(undefined, { device: 'cpu', dtype: 'float16' }).catch((e) => e);
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/float16.*CUDA/);
  });
});

describe('the CUDA build variant', () => {
  it("lives in a folder node-gyp-build never picks on its own", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ngb = require('node-gyp-build') as { parseTuple(name: string): unknown };
    expect(ngb.parseTuple(`${process.platform}-${process.arch}`)).toBeTruthy();
    expect(ngb.parseTuple(`${process.platform}-${process.arch}-cuda`)).toBeUndefined();
  });

  it('LAA_NATIVE_VARIANT=cuda without that prebuild fails with EBINDING naming the folder and the fix', async () => {
    const saved = process.env.LAA_NATIVE_VARIANT;
    // An explicit binary (LAA_NATIVE_BINDING, as the sanitizer and LibTorch 2.x runs set) would win over the variant.
    const savedBinding = process.env.LAA_NATIVE_BINDING;
    delete process.env.LAA_NATIVE_BINDING;
    process.env.LAA_NATIVE_VARIANT = 'cuda';
    try {
      vi.resetModules();
      const fresh = await import('../src/binding/native');
      const err = (() => {
        try {
          fresh.binding();
        } catch (e) {
          return e as { code: string; message: string };
        }
      })();
      expect(err?.code).toBe('EBINDING');
      expect(err?.message).toContain(path.join('prebuilds', `${process.platform}-${process.arch}-cuda`));
      expect(err?.message).toContain('LAA_NATIVE_LIBTORCH=/path/to/libtorch-cuda npm run prebuild');
    } finally {
      if (saved === undefined) delete process.env.LAA_NATIVE_VARIANT;
      else process.env.LAA_NATIVE_VARIANT = saved;
      if (savedBinding !== undefined) process.env.LAA_NATIVE_BINDING = savedBinding;
      vi.resetModules();
    }
  });
});
