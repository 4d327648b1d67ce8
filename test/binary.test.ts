// The compiled addon finds its shared libraries without LD_LIBRARY_PATH and
// links exactly the three native stacks it is built on.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';
import { binding } from '../src/binding/native';

const addon = path.join(repoRoot, 'build', 'Release', 'laa_native.node');
const env = { ...process.env, LD_LIBRARY_PATH: '' };

describe('the .node binary', () => {
  it('npm run prebuild lays out a prebuild that node-gyp-build picks with PREBUILDS_ONLY', () => {
    execFileSync('bash', [path.join(repoRoot, 'scripts/prebuild.sh')], { cwd: repoRoot, stdio: 'pipe' });
    const picked = execFileSync(process.execPath, ['-e', `console.log(require('node-gyp-build').resolve(${JSON.stringify(repoRoot)}))`], {
      encoding: 'utf8',
      env: { ...process.env, PREBUILDS_ONLY: '1' },
    }).trim();
    expect(picked).toBe(path.join(repoRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'laa-native.napi.glibc.node'));
    const record = JSON.parse(require('node:fs').readFileSync(path.join(path.dirname(picked), 'laa-native.json'), 'utf8'));
    expect(record.libtorch).toMatch(/^\d+\.\d+/);
  }, 600_000);

  it('laa-native doctor explains the machine and runs a forward pass', () => {
    const out = execFileSync(process.execPath, [path.join(repoRoot, 'lib/cli/main.js'), 'doctor'], { encoding: 'utf8' });
    for (const row of ['node', 'glibc', 'cpu', 'libtorch', 'cuda', 'opencv', 'dlib', 'landmarks']) expect(out).toMatch(new RegExp(`^${row}\\s`, 'm'));
    expect(out).toMatch(/^forward\s+ok:/m);
  });

  it('links LibTorch, OpenCV and dlib, and every library resolves without LD_LIBRARY_PATH', () => {
    const dyn = execFileSync('readelf', ['-d', addon], { encoding: 'utf8', env });
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
    expect(needed).toEqual(expect.arrayContaining([expect.stringMatching(/^libtorch_cpu\.so/), expect.stringMatching(/^libopencv_core\.so/), expect.stringMatching(/^libdlib\.so/)]));
    // Search paths baked into the binary (a LAA_NATIVE_LIBTORCH build puts its lib/ here) are RUNPATH, absolute or $ORIGIN-relative.
    for (const m of dyn.matchAll(/\((RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[(.+?)\]/g)) {
      expect(m[1]).toBe('RUNPATH');
      for (const dir of m[2].split(':')) expect(dir.startsWith('/') || dir.startsWith('$ORIGIN')).toBe(true);
    }
    const ldd = execFileSync('ldd', [addon], { encoding: 'utf8', env });
    expect(ldd).not.toMatch(/not found/);
  });

  it('loads in a fresh process with an empty LD_LIBRARY_PATH', () => {
    const out = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).versions().libtorch)`], { encoding: 'utf8', env });
    expect(out.trim()).toMatch(/^\d+\.\d+/);
  });

  it('knows which LibTorch it runs on', () => {
    const script = `const v = require(${JSON.stringify(addon)}).versions();
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({ ...v, mapped: maps.split('\\n').map((l) => l.split(/\\s+/).pop()).find((p) => /libtorch_cpu\\.so/.test(p)) }));`;
    const v = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env }));
    expect(v.libtorchRuntime.split('.').slice(0, 2)).toEqual(v.libtorch.split('.').slice(0, 2));
    expect(fs.realpathSync(v.libtorchLibrary)).toBe(fs.realpathSync(v.mapped));
  });

  it('refuses to load on a LibTorch of another version, saying which and what to do', () => {
    // The addon this process already runs (with LAA_NATIVE_BINDING another build's: a second LibTorch
    // in one process would not survive its static initialisers).
    const b = binding();
    expect(b.torchVersionMismatch('1.13.0', '1.13.1', '')).toBe('');
    const msg = b.torchVersionMismatch('1.13.0', '2.1.0', '/opt/libtorch/lib/libtorch_cpu.so');
    expect(msg).toContain('built against LibTorch 1.13.0 but LibTorch 2.1.0 was loaded from /opt/libtorch/lib/libtorch_cpu.so');
    expect(msg).toContain('npm rebuild laa-native --build-from-source');

    // A real load: a preloaded library answers LibTorch's own version query
    // (at::show_config) with 9.9.0, as a foreign libtorch_cpu would.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'laa-torch-'));
    fs.writeFileSync(path.join(dir, 'fake.cc'), '#include <string>\nnamespace at { std::string show_config() { return "Build settings: TORCH_VERSION=9.9.0, USE_CUDA=OFF"; } }\n');
    execFileSync('g++', ['-shared', '-fPIC', '-o', path.join(dir, 'libfaketorch.so'), path.join(dir, 'fake.cc')]);
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(repoRoot, 'lib'))}).versions()`], {
      encoding: 'utf8',
      env: { ...env, LD_PRELOAD: path.join(dir, 'libfaketorch.so'), LAA_NATIVE_BINDING: addon },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).not.toBe(0);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain('EBINDING');
    expect(r.stderr).toMatch(/built against LibTorch 1\.13\.\d+ but LibTorch 9\.9\.0 was loaded from \S*libfaketorch\.so/);
  });
});
