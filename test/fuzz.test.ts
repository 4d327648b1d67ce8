// A short run of every fuzz harness (native/fuzz: libFuzzer with ASan and UBSan
// on the parsers of untrusted bytes), seeded with native/fuzz/seeds. `npm run
// fuzz` runs them longer; a crash leaves its input in build-fuzz/crashes/.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/paths';

const clang = (() => {
  for (const c of ['clang++-14', 'clang++']) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {
      /* next */
    }
  }
  return '';
})();
const SECONDS = Number(process.env.LAA_FUZZ_SECONDS ?? 30);

describe('fuzzing the parsers of untrusted bytes', () => {
  it.skipIf(!clang)(`runs each harness for ${SECONDS} s with no crash, leak or sanitizer report${clang ? '' : ' [skipped: no clang++ (scripts/install-system-deps.sh --test installs clang-14 and libclang-rt-14-dev)]'}`, () => {
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'fuzz.sh'), String(SECONDS)], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LAA_FUZZ_CXX: clang } });
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('fuzz_'));
    expect(lines.map((l) => l.split(':')[0])).toEqual(['fuzz_safetensors', 'fuzz_pickle', 'fuzz_pth', 'fuzz_image_header']);
    for (const l of lines) {
      const m = /: (\d+) executions in \d+ s, corpus \d+, crashes (\d+) \(exit (\d+)/.exec(l);
      expect(m, l).not.toBeNull();
      expect(Number(m![1]), l).toBeGreaterThan(1000);
      expect(Number(m![2]), `${l}\n${r.stderr}`).toBe(0);
      expect(Number(m![3]), l).toBe(0);
    }
    expect(r.status, r.stderr).toBe(0);
  }, 900_000);
});
