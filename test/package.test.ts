// The package's entry points: CommonJS and ESM load the same API.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';

describe('entry points', () => {
  it('exports the same names through require and import (self-reference by package name)', () => {
    const cjs = execFileSync(process.execPath, ['-e', "console.log(Object.keys(require('laa-native')).sort().join(','))"], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import * as m from 'laa-native'; console.log(Object.keys(m).filter((k) => k !== 'default').sort().join(','))"],
      { cwd: repoRoot, encoding: 'utf8' },
    ).trim();
    expect(esm).toBe(cjs);
    expect(cjs.split(',')).toEqual(expect.arrayContaining(['LaaNet', 'Detector', 'LaaError', 'readWeights', 'versions']));
  });

  it('has a package.json that publint finds nothing wrong with (exports, types per condition, files)', async () => {
    const { publint } = await import('publint');
    const { messages } = await publint({ pkgDir: repoRoot, level: 'suggestion', pack: 'npm' });
    expect(messages).toEqual([]);
  }, 120_000);

  it('the ESM build is the same object as the CommonJS one (one addon instance)', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import { createRequire } from 'node:module'; import { LaaNet } from 'laa-native'; const r = createRequire(process.cwd() + '/'); console.log(LaaNet === r('laa-native').LaaNet)"],
      { cwd: repoRoot, encoding: 'utf8' },
    ).trim();
    expect(out).toBe('true');
  });
});
