// The EfficientNet-Lite backbones against an independent implementation
// (test/fixtures/backbones, written by test/support/make_backbone_fixture.py
// from the PyPI package efficientnet-lite-pytorch), the ImageNet weights that
// ship in models/backbones/, the legacy .pth reader that converts them, and how
// weights files name their architecture.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKBONES, convertBackbone, LaaNet, readWeights, type Backbone, type DType, type Tensor } from '../src';
import { repoRoot, tmpDir } from './support/paths';
import { readSafetensors, writeSafetensors, type FixtureTensor } from './support/safetensors';
import { channelMean, maxAbsDiff, pickChannels } from './support/tensors';

const fixture = readSafetensors(path.join(repoRoot, 'test', 'fixtures', 'backbones', 'efficientnet-lite.safetensors')).tensors;
const imagenetFile = path.join(repoRoot, 'models', 'backbones', 'efficientnet-lite0-imagenet.safetensors');
const TOLERANCE: Record<string, number> = { float32: 1e-5, float64: 1e-9 };
const PYTHON = '/usr/bin/python3';

/** HWC uint8 photos -> the network's NCHW input in [-1, 1] (u / 255 * 2 - 1 in float64, as the fixture script). */
function photos(name: string, dtype: DType): Tensor {
  const t = fixture[name];
  const [n, h, w, c] = t.shape;
  const out = dtype === 'float64' ? new Float64Array(n * c * h * w) : new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * w + x] = ((t.data[((i * h + y) * w + x) * c + k] as number) / 255) * 2 - 1;
  return { data: out, shape: [n, c, h, w] };
}

type Features = NonNullable<Awaited<ReturnType<LaaNet['forward']>>['features']>;

/** What the fixture records of a forward's endpoints: channel means, and channel 0 of the first and last. */
function endpointChecks(f: Features): Array<[string, ArrayLike<number>]> {
  return [
    ['reduction_3_mean', channelMean(f.reduction_3)],
    ['reduction_4_mean', channelMean(f.reduction_4)],
    ['reduction_5_mean', channelMean(f.reduction_5)],
    ['reduction_6_mean', channelMean(f.reduction_6)],
    ['reduction_3_ch0', pickChannels(f.reduction_3, [0])],
    ['reduction_6_ch0', pickChannels(f.reduction_6, [0])],
  ];
}

/**
 * float32 against the reference's float64 endpoints: at most twice as far as the reference's own float32 run (plus
 * 1e-6). Two float32 runs differ by the order their kernels accumulate in, which depends on the CPU: on an AVX2 EPYC
 * our float32 and the reference's (recorded on an AVX-512 Xeon) differ by up to 9.5e-5 on the last endpoint, while
 * each is within 1.1e-4 of float64 (measured); on the Xeon the two agreed within 1e-5.
 */
function compareFloat32(prefix: string, f: Features) {
  for (const [name, got] of endpointChecks(f)) {
    const truth = fixture[`${prefix}.f64.${name}`].data as Float64Array;
    expect(got.length, `${prefix}.f32.${name}`).toBe(truth.length);
    const refError = maxAbsDiff(fixture[`${prefix}.f32.${name}`].data as Float32Array, truth);
    expect(maxAbsDiff(got, truth), `${prefix}.f32.${name} (the reference's float32 is ${refError.toExponential(2)} from float64)`).toBeLessThan(2 * refError + 1e-6);
  }
}

function compareEndpoints(prefix: string, f: Features, tol: number) {
  let worst = 0;
  for (const [name, got] of endpointChecks(f)) {
    const want = fixture[`${prefix}.${name}`].data as Float64Array | Float32Array;
    expect(got.length, `${prefix}.${name}`).toBe(want.length);
    const d = maxAbsDiff(got, want);
    expect(d, `${prefix}.${name}`).toBeLessThan(tol);
    worst = Math.max(worst, d);
  }
  return worst;
}

/** A LAA-Net-Lite0 weights file whose backbone is the shipped ImageNet one (decoder and heads: the fill rule). */
async function withImagenetBackbone(): Promise<string> {
  const dir = tmpDir('backbones');
  const base = path.join(dir, 'lite0-fill.safetensors');
  const net = await LaaNet.reference(undefined, { backbone: 'efficientnet-lite0', dtype: 'float64' });
  await net.save(base);
  net.dispose();
  const full = readSafetensors(base);
  const backbone = readSafetensors(imagenetFile).tensors;
  const merged: Record<string, FixtureTensor> = {};
  for (const [k, v] of Object.entries(full.tensors)) merged[k] = backbone[k] ?? v;
  const file = path.join(dir, 'lite0-imagenet.safetensors');
  writeSafetensors(file, merged, full.metadata);
  return file;
}

describe('EfficientNet-Lite backbones against efficientnet-lite-pytorch', () => {
  describe.each(['efficientnet-lite0', 'efficientnet-lite1', 'efficientnet-lite2'] as Backbone[])('%s, fill-rule weights, 256²', (backbone) => {
    it.each(['float32', 'float64'] as DType[])('matches the reference endpoints in %s', async (dtype) => {
      const net = await LaaNet.reference(undefined, { backbone, dtype, threads: 2 });
      try {
        expect(net.info.backbone).toBe(backbone);
        expect(net.info.architecture).toBe(`laa-net-${backbone}-efpn`);
        const out = await net.forward(photos('photos256_u8', dtype), { intermediates: true, heads: ['cls'] });
        const lite = backbone.replace('efficientnet-', '');
        if (dtype === 'float64') compareEndpoints(`${lite}.fill.f64`, out.features!, TOLERANCE.float64);
        else compareFloat32(`${lite}.fill`, out.features!);
        expect(out.features!.reduction_3.shape).toEqual([2, backbone === 'efficientnet-lite2' ? 48 : 40, 32, 32]);
        expect(out.features!.reduction_6.shape).toEqual([2, 1280, 8, 8]);
        expect(out.features!.deconv_4.shape[1]).toBe(2 * out.features!.reduction_3.shape[1]);
      } finally {
        net.dispose();
      }
    });
  });

  describe('efficientnet-lite0 with the shipped ImageNet weights (float16), 224²', () => {
    let file: string;
    it.each(['float64', 'float32'] as DType[])('matches the reference endpoints and ImageNet logits in %s; top-5 classes as the PyPI weights', async (dtype) => {
      file ??= await withImagenetBackbone();
      const net = await LaaNet.load(file, { dtype, threads: 2 });
      try {
        expect(net.info.backbone).toBe('efficientnet-lite0');
        const out = await net.forward(photos('photos224_u8', dtype), { intermediates: true, heads: ['cls'] });
        const tag = dtype === 'float64' ? 'f64' : 'f32';
        compareEndpoints(`lite0.imagenet.${tag}`, out.features!, TOLERANCE[dtype]);
        // The ImageNet classifier on the pooled head features, in float64 here.
        const fc = readSafetensors(imagenetFile).tensors;
        const W = fc['_fc.weight'].data as Float64Array;
        const b = fc['_fc.bias'].data as Float64Array;
        const pooled = channelMean(out.features!.reduction_6);
        const logits = new Float64Array(2 * 1000);
        for (let i = 0; i < 2; i++)
          for (let k = 0; k < 1000; k++) {
            let s = b[k];
            for (let c = 0; c < 1280; c++) s += W[k * 1280 + c] * pooled[i * 1280 + c];
            logits[i * 1000 + k] = s;
          }
        // float32: the reference's own float32 classifier rounds; 1e-4 on logits of magnitude ~10.
        expect(maxAbsDiff(logits, fixture[`lite0.imagenet.${tag}.logits`].data as Float64Array)).toBeLessThan(dtype === 'float64' ? 1e-9 : 1e-4);
        for (const [ref, name] of [['lite0.imagenet.top5', 'float32 PyPI weights'], ['lite0.imagenet.top5_f16', 'float16 weights']] as const) {
          const want = Array.from(fixture[ref].data as BigInt64Array, Number);
          for (let i = 0; i < 2; i++) {
            const row = Array.from(logits.subarray(i * 1000, (i + 1) * 1000));
            const top5 = row.map((v, k) => [v, k]).sort((x, y) => y[0] - x[0]).slice(0, 5).map((p) => p[1]);
            expect(top5, `photo ${i}, ${name}`).toEqual(want.slice(i * 5, i * 5 + 5));
          }
        }
      } finally {
        net.dispose();
      }
    });

    it('gives the same cls logit through the folded plan as through the module', async () => {
      file ??= await withImagenetBackbone();
      const net = await LaaNet.load(file, { dtype: 'float64', threads: 2 });
      const x = photos('photos224_u8', 'float64');
      const a = await net.forward(x, { heads: ['cls', 'hm'] });
      const b = await net.forward(x, { heads: ['cls', 'hm'], intermediates: true });
      net.dispose();
      expect(maxAbsDiff(a.cls!.data, b.cls!.data)).toBeLessThan(1e-10);
      expect(maxAbsDiff(a.hm!.data, b.hm!.data)).toBeLessThan(1e-10);
    });
  });
});

describe('weights files name their backbone', () => {
  it('a saved Lite model reloads as Lite (metadata), and without metadata by its shapes', async () => {
    const dir = tmpDir('backbones');
    const net = await LaaNet.reference(undefined, { backbone: 'efficientnet-lite1' });
    const file = path.join(dir, 'lite1.safetensors');
    await net.save(file);
    const x = photos('photos256_u8', 'float32');
    const want = (await net.forward(x, { heads: ['cls'] })).cls!.data;
    net.dispose();
    const back = await LaaNet.load(file);
    expect(back.info.backbone).toBe('efficientnet-lite1');
    expect(back.info.metadata.architecture).toBe('laa-net-efficientnet-lite1-efpn');
    expect(maxAbsDiff((await back.forward(x, { heads: ['cls'] })).cls!.data, want)).toBe(0);
    back.dispose();
    const { tensors } = readSafetensors(file);
    const bare = path.join(dir, 'lite1-bare.safetensors');
    writeSafetensors(bare, tensors);
    const inferred = await LaaNet.load(bare);
    expect(inferred.info.backbone).toBe('efficientnet-lite1');
    inferred.dispose();
  });

  it('EWEIGHTS when the tensors fit no backbone, naming what each expects and what was found', async () => {
    const dir = tmpDir('backbones');
    const net = await LaaNet.reference(undefined, { backbone: 'efficientnet-lite0' });
    const file = path.join(dir, 'lite0.safetensors');
    await net.save(file);
    net.dispose();
    const { tensors } = readSafetensors(file);
    const cut: Record<string, FixtureTensor> = {};
    for (const [k, v] of Object.entries(tensors)) if (!k.startsWith('_blocks.15.')) cut[k] = v;
    const bad = path.join(dir, 'lite0-cut.safetensors');
    writeSafetensors(bad, cut);
    const err = await LaaNet.load(bad).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain('found stem [32, 3, 3, 3], 15 blocks without squeeze-excite, head [1280, 320, 1, 1]');
    expect(err.message).toContain('efficientnet-lite0: stem [32, 3, 3, 3], 16 blocks without squeeze-excite, head [1280, 320, 1, 1]');
    expect(err.message).toContain('efficientnet-b4: stem [48, 3, 3, 3], 32 blocks with squeeze-excite, head [1792, 448, 1, 1]');
  });

  it('EWEIGHTS when the metadata names another or an unknown architecture', async () => {
    const dir = tmpDir('backbones');
    const net = await LaaNet.reference(undefined, { backbone: 'efficientnet-lite0' });
    const file = path.join(dir, 'lite0.safetensors');
    await net.save(file);
    net.dispose();
    const { tensors, metadata } = readSafetensors(file);
    const claims = path.join(dir, 'claims-lite2.safetensors');
    writeSafetensors(claims, tensors, { ...metadata, architecture: 'laa-net-efficientnet-lite2-efpn' });
    const wrong = await LaaNet.load(claims).catch((e) => e);
    expect(wrong.code).toBe('EWEIGHTS');
    expect(wrong.message).toContain('do not fit the LAA-Net (efficientnet-lite2 + E-FPN) architecture: missing keys: _blocks.16._expand_conv.weight');
    expect(wrong.message).toContain('wrong shapes: _blocks.3._depthwise_conv.weight (expected [144, 1, 3, 3], got [144, 1, 5, 5])');
    const unknown = path.join(dir, 'unknown.safetensors');
    writeSafetensors(unknown, tensors, { ...metadata, architecture: 'laa-net-resnet50-efpn' });
    const err = await LaaNet.load(unknown).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain("architecture 'laa-net-resnet50-efpn', expected one of 'laa-net-efficientnet-b4-efpn', 'laa-net-efficientnet-lite0-efpn'");
  });

  it('EINVAL for an unknown backbone name', async () => {
    const err = await LaaNet.reference(undefined, { backbone: 'efficientnet-b7' as Backbone }).catch((e) => e);
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain(BACKBONES.join(', '));
  });
});

describe('convertBackbone', () => {
  it('reads a legacy-format (pre-1.6) torch.save .pth without executing it and keeps the classifier', async () => {
    const dir = tmpDir('backbones');
    const shipped = readSafetensors(imagenetFile).tensors;
    // The PyPI wheels hold their weights in the legacy format: write one like them.
    const legacy = path.join(dir, 'lite0-legacy.pth');
    execFileSync(PYTHON, ['-c', `
import json, struct, sys, collections, numpy as np, torch
raw = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]; h = json.loads(raw[8:8+n]); h.pop('__metadata__')
codes = {'F16': np.float16, 'I64': np.int64}
sd = collections.OrderedDict()
for k, v in h.items():
    a = np.frombuffer(raw[8+n+v['data_offsets'][0]:8+n+v['data_offsets'][1]], dtype=codes[v['dtype']]).reshape(v['shape'])
    t = torch.from_numpy(a.copy())
    sd[k] = t.float() if t.is_floating_point() else t
torch.save(sd, sys.argv[2], _use_new_zipfile_serialization=False)
`, imagenetFile, legacy]);
    expect(fs.readFileSync(legacy).subarray(0, 3)).toEqual(Buffer.from([0x80, 0x02, 0x8a]));
    const out = path.join(dir, 'lite0-converted.safetensors');
    const r = await convertBackbone(legacy, out, { backbone: 'efficientnet-lite0', metadata: { source: 'test' } });
    expect(r).toEqual({ tensors: 296, parameters: 4652008, classifier: true });
    const got = await readWeights(out);
    expect(got.metadata).toMatchObject({ kind: 'backbone', backbone: 'efficientnet-lite0', dtype: 'float32', source: 'test' });
    expect(got.tensors.map((t) => t.name)).toEqual(Object.keys(shipped));
    for (const t of got.tensors)
      expect(maxAbsDiff(Array.from(t.data as ArrayLike<number | bigint>, Number), Array.from(shipped[t.name].data as ArrayLike<number | bigint>, Number)), t.name).toBe(0);
  });

  it('EWEIGHTS for weights of another backbone, naming the tensor and both shapes', async () => {
    const err = await convertBackbone(imagenetFile, path.join(tmpDir('backbones'), 'x.safetensors'), { backbone: 'efficientnet-lite2' }).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toBe("backbone tensor '_blocks.3._depthwise_conv.weight' has shape [144, 1, 5, 5], expected [144, 1, 3, 3] (efficientnet-lite2)");
  });

  it('EINVAL for an unknown backbone, ENOENT for a missing file', async () => {
    await expect(convertBackbone(imagenetFile, '/tmp/x.safetensors', { backbone: 'resnet' as Backbone })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(convertBackbone('/nonexistent.pth', '/tmp/x.safetensors', { backbone: 'efficientnet-lite0' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
