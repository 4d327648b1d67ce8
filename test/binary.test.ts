// The compiled addon finds its shared libraries without LD_LIBRARY_PATH and
// links exactly the three native stacks it is built on.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';

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
    const out = execFileSync(process.execPath, [path.join(repoRoot, 'lib/cli.js'), 'doctor'], { encoding: 'utf8' });
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
});
