// Installing the packed package into an empty project, as a new user would:
// it loads from its prebuild with no compiler or CMake on PATH, from require and
// import, runs `laa-native info` and scores the bundled sample.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'laa-install-'));
const project = path.join(work, 'app');
// A PATH with node and nothing else: no cmake, no compiler, no npm.
const bin = path.join(work, 'bin');
// What the package loads on its own: no LAA_NATIVE_BINDING override (the sanitizer and LibTorch 2.x runs set one).
const { LAA_NATIVE_BINDING: _override, ...inherited } = process.env;
const env = { ...inherited, PATH: bin };
let tarball = '';

// A PyPI torch 2.x to build and load the second variant against: the one scripts/test-libtorch.sh prepares
// (.cache/torch-2.11), or LAA_TEST_TORCH_PYTHON. Without one (the default CI run: the wheel and its CUDA
// libraries are ~4 GB) the variant tests skip.
const torchPython = process.env.LAA_TEST_TORCH_PYTHON ?? path.join(repoRoot, '.cache', 'torch-2.11', 'bin', 'python');
const hasTorchPython = fs.existsSync(torchPython) && (() => {
  try {
    return /^2\./.test(execFileSync(torchPython, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
})();
const needsTorchPython = hasTorchPython ? '' : ` [skipped: no PyPI torch 2.x at ${torchPython}; bash scripts/test-libtorch.sh python prepares one]`;

beforeAll(() => {
  execFileSync('bash', [path.join(repoRoot, 'scripts/prebuild.sh')], { cwd: repoRoot, stdio: 'pipe' });
  if (hasTorchPython)
    execFileSync('bash', [path.join(repoRoot, 'scripts/prebuild.sh')], {
      cwd: repoRoot, stdio: 'pipe', env: { ...process.env, LAA_NATIVE_LIBTORCH: 'python', LAA_NATIVE_PYTHON: torchPython, LAA_NATIVE_BUILD_DIR: 'build-torch211' },
    });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' }));
  tarball = path.join(work, packed[0].filename);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, stdio: 'pipe' });
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
}, 600_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const node = (args: string[]) => execFileSync(path.join(bin, 'node'), args, { cwd: project, env, encoding: 'utf8' });

describe('npm install of the packed tarball', () => {
  it('ships the prebuild and no tests or build tree', () => {
    const pkg = path.join(project, 'node_modules', 'laa-native');
    expect(fs.existsSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'laa-native.napi.glibc.node'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'native', 'laanet', 'tests'))).toBe(false);
    // The bundled model (float16, 16.7 MB) and the Lite0 ImageNet backbone (9.4 MB) ship; the calibration faces too.
    expect(fs.statSync(path.join(pkg, 'models', 'laa-native-lite0-sbi-256.safetensors')).size).toBe(fs.statSync(path.join(repoRoot, 'models', 'laa-native-lite0-sbi-256.safetensors')).size);
    expect(fs.existsSync(path.join(pkg, 'models', 'backbones', 'efficientnet-lite0-imagenet.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'models', 'calibration', 'obama-256.png'))).toBe(true);
    expect(fs.statSync(tarball).size).toBeLessThan(40 * 1024 * 1024);
  });

  it('loads with require and import, with no cmake or compiler on PATH', () => {
    expect(() => execFileSync('cmake', ['--version'], { env, stdio: 'pipe' })).toThrow();
    expect(node(['-e', "const m = require('laa-native'); console.log(typeof m.LaaNet.load, require.resolve('laa-native'))"])).toMatch(/^function .*node_modules\/laa-native\/lib\/index\.js/);
    expect(node(['--input-type=module', '-e', "import { Detector } from 'laa-native'; console.log(typeof Detector.create)"]).trim()).toBe('function');
    const where = node(['-e', "require('laa-native').versions(); console.log(require('fs').readFileSync('/proc/self/maps','utf8').match(/\\S*laa-native\\.napi\\S*\\.node/)[0])"]).trim();
    expect(where).toContain(path.join('node_modules', 'laa-native', 'prebuilds'));
  });

  it('type-checks for TypeScript users of import and of require (tsc --strict, nodenext)', () => {
    const src = `const d = await Detector.create({ weights: 'w.safetensors' });
const r: ScoreResult = await d.scoreVideo('v.mp4', { frames: 4 });
const p: number = r.score;
d.dispose();
export { p };
`;
    fs.writeFileSync(path.join(project, 'esm.mts'), `import { Detector, type ScoreResult } from 'laa-native';\n${src}`);
    fs.writeFileSync(path.join(project, 'cjs.cts'), `import laa = require('laa-native');\ntype ScoreResult = laa.ScoreResult;\nconst { Detector } = laa;\nexport async function main() {\n${src.replace('export { p };', 'return p;')}}\n`);
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', path.join(repoRoot, 'node_modules', '@types')];
    const check = (files: string[]) => {
      try {
        execFileSync(path.join(bin, 'node'), [tsc, ...args, ...files], { cwd: project, env, encoding: 'utf8', stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stdout?: string }).stdout) || String(e);
      }
    };
    expect(check(['esm.mts', 'cjs.cts'])).toBe('');
    // A wrong use is caught, so the check has teeth.
    fs.writeFileSync(path.join(project, 'bad.mts'), "import { Detector } from 'laa-native';\nconst s: string = (await Detector.create()).dispose();\nexport { s };\n");
    expect(check(['bad.mts'])).toMatch(/bad\.mts.*TS2322/);
  });

  it('its install script picked the prebuild; a forced source build without cmake fails with a fix', () => {
    const script = path.join(project, 'node_modules', 'laa-native', 'scripts', 'install.js');
    expect(node([script])).toContain(`using prebuilds/${process.platform}-${process.arch}/laa-native.napi.glibc.node`);
    let err = '';
    try {
      execFileSync(path.join(bin, 'node'), [script], { cwd: project, env: { ...env, LAA_NATIVE_BUILD_FROM_SOURCE: '1' }, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toMatch(/install-system-deps\.sh|npm install cmake-js/);
  });

  it(`loads the PyPI-torch variant against its own LibTorch, with no compiler on PATH${needsTorchPython}`, () => {
    if (!hasTorchPython) return;
    const variantEnv = { ...env, LAA_NATIVE_LIBTORCH: 'python', LAA_NATIVE_PYTHON: torchPython };
    const out = execFileSync(path.join(bin, 'node'), ['-e', "const v = require('laa-native').versions(); console.log(JSON.stringify({ rt: v.libtorchRuntime, lib: v.libtorchLibrary, src: v.libtorchSource, addon: require('fs').readFileSync('/proc/self/maps', 'utf8').match(/\\S*laa-native\\.torch-\\S*\\.addon/)?.[0] }))"],
      { cwd: project, env: variantEnv, encoding: 'utf8' });
    const v = JSON.parse(out.trim().split('\n').pop()!);
    expect(v.rt).toMatch(/^2\./);
    expect(v.src).toBe('python');
    expect(v.lib).toContain(path.dirname(path.dirname(torchPython)));
    expect(v.addon).toContain(path.join('node_modules', 'laa-native', 'prebuilds'));
    const cli = path.join(project, 'node_modules', 'laa-native', 'lib', 'cli', 'main.js');
    const sample = path.join(project, 'node_modules', 'laa-native', 'examples', 'media', 'talking-head.mp4');
    const line = JSON.parse(execFileSync(path.join(bin, 'node'), [cli, 'score', sample, '--frames', '2', '--json'], { cwd: project, env: variantEnv, encoding: 'utf8' }).trim());
    expect(line).toMatchObject({ ok: true, framesSampled: 2 });
  });

  it(`refuses a Python torch it has no variant for, saying which variants it has and the pip command${needsTorchPython}`, () => {
    if (!hasTorchPython) return;
    // Debian's python3-torch is 1.13: no Python-torch variant fits it.
    let err = '';
    try {
      execFileSync(path.join(bin, 'node'), ['-e', "require('laa-native').versions()"], { cwd: project, env: { ...env, LAA_NATIVE_LIBTORCH: 'python', LAA_NATIVE_PYTHON: '/usr/bin/python3' }, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toContain('EBINDING');
    expect(err).toMatch(/the torch of \/usr\/bin\/python3 is 1\.13\.\S+ .*no variant here was built for it\. Variants here: laa-native\.napi\.glibc\.node \(LibTorch 1\.13\.\d+, debian\); laa-native\.torch-2\.\d+-\S+\.addon .*Fix: pip install torch==2\./s);
  });

  it('runs laa-native info and scores the bundled sample', () => {
    const cli = path.join(project, 'node_modules', 'laa-native', 'lib', 'cli', 'main.js');
    expect(node([cli, 'info'])).toMatch(/^libtorch\s+\d/m);
    const sample = path.join(project, 'node_modules', 'laa-native', 'examples', 'media', 'talking-head.mp4');
    const line = JSON.parse(node([cli, 'score', sample, '--frames', '2', '--json']).trim());
    expect(line).toMatchObject({ ok: true, framesSampled: 2, facesFound: 2 });
    expect(line.model).toMatchObject({ name: 'laa-native-lite0-sbi-256', untrained: false, inputSize: 256 });
  });
});
