// The layered layout (README "Layout"): includes and imports run down the
// layers only, src/ has no import cycles, and the C++ and JavaScript lists of
// error codes agree.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './support/paths';
import { ERROR_CODES } from '../src';
import { binding } from '../src/binding/native';

describe('layout', () => {
  it('no include or import runs up a layer, and src/ has no cycles', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/check-layout.mjs')], { encoding: 'utf8' });
    expect(r.stdout).toContain('no include or import runs up a layer');
    expect(r.status).toBe(0);
  });

  it('the checker finds an include that runs up a layer and an import cycle', async () => {
    const { checkNative, checkSrc } = await import('../scripts/check-layout.mjs');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'laa-layout-'));
    try {
      fs.mkdirSync(path.join(base, 'native', 'net'), { recursive: true });
      fs.mkdirSync(path.join(base, 'native', 'train'), { recursive: true });
      fs.writeFileSync(path.join(base, 'native', 'net', 'bad.h'), '#include "core/errors.h"\n#include "train/trainer.h"\n');
      fs.writeFileSync(path.join(base, 'native', 'train', 'ok.h'), '#include "net/laanet.h"\n');
      expect(checkNative(base)).toEqual([expect.stringContaining('native/net/bad.h: net includes train/trainer.h')]);
      fs.mkdirSync(path.join(base, 'src', 'model'), { recursive: true });
      fs.writeFileSync(path.join(base, 'src', 'model', 'a.ts'), "import { b } from './b';\nexport const a = 1;\n");
      fs.writeFileSync(path.join(base, 'src', 'model', 'b.ts'), "import { a } from './a';\nexport const b = 2;\n");
      fs.writeFileSync(path.join(base, 'src', 'model', 'c.ts'), "import { x } from '../train/x';\n");
      fs.mkdirSync(path.join(base, 'src', 'train'));
      fs.writeFileSync(path.join(base, 'src', 'train', 'x.ts'), 'export const x = 3;\n');
      const problems = checkSrc(base);
      expect(problems).toContainEqual(expect.stringMatching(/^import cycle: src\/model\/(a|b)\.ts -> /));
      expect(problems).toContainEqual(expect.stringContaining('src/model/c.ts: model imports src/train/x.ts'));
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('the addon raises exactly the codes the JavaScript side knows', () => {
    expect([...binding().errorCodes()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
