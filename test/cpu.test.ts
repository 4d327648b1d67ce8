// What the CPU can do and what follows from it: versions().cpu against the
// kernel's view (/proc/cpuinfo), bfloat16 requests on a CPU without native
// bfloat16 (real on an AVX2-only CPU, emulated on one with bfloat16 by limiting
// oneDNN with ONEDNN_MAX_CPU_ISA=AVX2), `strict`, and dtype 'auto'.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LaaNet, versions, type Tensor } from '../src';
import { inFreshProcess } from './support/fresh-process';
import { fixturesDir, repoRoot, tmpDir } from './support/paths';
import { readSafetensors } from './support/safetensors';

const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '' : '';
const flag = (f: string) => new RegExp(`\\b${f}\\b`).test(cpuinfo);
const lib = path.join(repoRoot, 'lib');

const child = inFreshProcess;

describe('versions().cpu', () => {
  it.skipIf(!cpuinfo)('reports the instruction sets the kernel reports [skipped without /proc/cpuinfo]', () => {
    const c = versions().cpu;
    expect(c.avx2).toBe(flag('avx2'));
    expect(c.avx512).toBe(flag('avx512f'));
    expect(c.avx512Bf16).toBe(flag('avx512_bf16'));
    expect(c.amx).toBe(flag('amx_tile') && flag('amx_bf16'));
    expect(c.flags.split(' ').includes('avx2')).toBe(flag('avx2'));
    if (c.onednnIsa) expect(c.nativeBf16).toBe((c.avx512Bf16 || c.amx) && /bf16|amx|fp16/.test(c.onednnIsa));
    expect(c.atenCapability).toMatch(/^(DEFAULT|AVX2|AVX512|ZVECTOR|VSX|)$/);
  });

  it('doctor prints them and what bfloat16 does here', () => {
    const out = execFileSync(process.execPath, [path.join(lib, 'cli', 'main.js'), 'doctor'], { encoding: 'utf8' });
    expect(out).toMatch(/^cpu\s+.*AVX2 (yes|no), AVX-512 (yes|no), AVX512-BF16 (yes|no), AMX (yes|no)$/m);
    expect(out).toMatch(/^kernels\s+oneDNN ISA \S+, ATen \S+; bfloat16 (native|not native)/m);
    expect(out).toMatch(/^memory\s+tensor arena on: keeps up to \d+ MiB of idle buffers between calls/m);
  });
});

describe('bfloat16 where the CPU has no native bfloat16 (oneDNN limited to AVX2)', () => {
  const AVX2 = { ONEDNN_MAX_CPU_ISA: 'AVX2' };
  // What the messages blame: the limit on a CPU that has bfloat16, the CPU itself on one that has not (AVX2-only EPYC).
  const why = flag('avx512_bf16') || flag('amx_bf16') ? 'oneDNN is limited to ISA avx2' : 'this CPU has no native bfloat16';

  it('runs float32 instead, says why once per process, computes exactly float32, and strict refuses', () => {
    const r = child(`
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const bf = await laa.LaaNet.reference(undefined, { dtype: 'bfloat16', backbone: 'efficientnet-lite0' });
      const again = await laa.LaaNet.reference(undefined, { dtype: 'bfloat16', backbone: 'efficientnet-lite0' });
      const f32 = await laa.LaaNet.reference(undefined, { dtype: 'float32', backbone: 'efficientnet-lite0' });
      const x = { data: new Float32Array(3 * 128 * 128).map((_, i) => Math.sin(i * 0.1)), shape: [1, 3, 128, 128] };
      const a = (await bf.forward(x, { heads: ['cls'] })).cls.data[0], b = (await f32.forward(x, { heads: ['cls'] })).cls.data[0];
      const strict = await laa.LaaNet.reference(undefined, { dtype: 'bfloat16', strict: true }).catch((e) => e);
      const auto = await laa.LaaNet.reference(undefined, { dtype: 'auto', backbone: 'efficientnet-lite0' });
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ cpu: laa.versions().cpu, info: bf.info, again: again.info.dtype, a, b, warnings,
        strict: { code: strict.code, message: strict.message }, auto: auto.info }));`, AVX2);
    expect(r.cpu.nativeBf16).toBe(false);
    // 'avx2', or 'avx2 (ONEDNN_MAX_CPU_ISA)' where oneDNN is linked statically (PyPI torch) and the variable is what tells.
    expect(r.cpu.onednnIsa).toMatch(/^avx2( \(ONEDNN_MAX_CPU_ISA\))?$/);
    expect(r.info).toMatchObject({ dtype: 'float32', requestedDtype: 'bfloat16' });
    expect(r.info.dtypeNote).toMatch(new RegExp(`^bfloat16 was requested, but ${why} .*; running float32 instead$`));
    expect(r.again).toBe('float32');
    expect(r.a).toBe(r.b);
    expect(r.warnings).toEqual(['LAA_BF16_FALLBACK']);
    expect(r.strict.code).toBe('EUNSUPPORTED');
    expect(r.strict.message).toMatch(new RegExp(`^dtype 'bfloat16' was requested with strict, but ${why}`));
    expect(r.auto).toMatchObject({ dtype: 'float32', requestedDtype: 'auto' });
    expect(r.auto.dtypeNote).toMatch(new RegExp(`^auto: float32 \\(${why}`));
  });

  it('trains a bfloat16 run in float32, and strict refuses', async () => {
    // A prepared folder of one face (the Trainer needs data to start).
    const dir = tmpDir('cpu');
    const data = path.join(dir, 'prepared');
    if (!fs.existsSync(path.join(data, 'index.jsonl'))) {
      const { prepare } = await import('../src');
      const src = path.join(dir, 'src');
      fs.mkdirSync(src, { recursive: true });
      fs.copyFileSync(path.join(repoRoot, 'test', 'fixtures', 'media', 'obama-720p.jpg'), path.join(src, 'a.jpg'));
      fs.copyFileSync(path.join(repoRoot, 'test', 'fixtures', 'media', 'obama-biden-two-faces.jpg'), path.join(src, 'b.jpg'));
      await prepare({ input: src, output: data });
    }
    const opts = (out: string, strict: boolean) =>
      JSON.stringify({ data, outDir: path.join(dir, out), inputSize: 64, batchSize: 1, framesPerVideo: 1, epochs: 1, precision: 'bfloat16', strict, threads: 1 });
    const r = child(`
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const t = await laa.Trainer.create(${opts('run-' + Date.now(), false)});
      const strict = await laa.Trainer.create(${opts('strict-' + Date.now(), true)}).catch((e) => e);
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ precision: t.precision, requested: t.options.precision, warnings, strict: strict.code, message: strict.message }));
      t.dispose();`, AVX2);
    expect(r).toMatchObject({ precision: 'float32', requested: 'bfloat16', warnings: ['LAA_BF16_FALLBACK'], strict: 'EUNSUPPORTED' });
    expect(r.message).toMatch(new RegExp(`^precision 'bfloat16' was requested with strict, but ${why}`));
  });
});

describe("dtype 'auto' on this machine", () => {
  it('keeps P(fake) within 0.01 of float32 and says what it chose', async () => {
    const face = readSafetensors(path.join(fixturesDir, 'parity', 'reference-a.safetensors')).tensors.input;
    const input: Tensor = { data: (face.data as Float32Array).subarray(0, 3 * 384 * 384), shape: [1, 3, 384, 384] };
    const auto = await LaaNet.reference(undefined, { dtype: 'auto' });
    const f32 = await LaaNet.reference(undefined, { dtype: 'float32' });
    try {
      const c = versions().cpu;
      expect(auto.info.requestedDtype).toBe('auto');
      expect(auto.info.dtypeNote).toMatch(/^auto: (float32|bfloat16) \(/);
      if (!c.nativeBf16) expect(auto.info.dtype).toBe('float32');
      const p = async (n: LaaNet) => 1 / (1 + Math.exp(-(await n.forward(input, { heads: ['cls'] })).cls!.data[0]));
      expect(Math.abs((await p(auto)) - (await p(f32)))).toBeLessThanOrEqual(0.01);
    } finally {
      auto.dispose();
      f32.dispose();
    }
  });
});
