import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './paths';

const lib = path.join(repoRoot, 'lib');

/**
 * Runs `script` (the body of an async function, with the package as `laa`) in a fresh Node process with `env`
 * added, and returns the JSON of its last output line; a rejection prints { error: code, message }.
 * `prelude` is code placed before it (helpers the script uses).
 */
export function inFreshProcess(script: string, env: Record<string, string> = {}, prelude = ''): any {
  const out = execFileSync(process.execPath, ['-e', `const laa = require(${JSON.stringify(lib)});\n${prelude}\n(async () => {\n${script}\n})().catch((e) => { console.log(JSON.stringify({ error: e.code, message: e.message })); });`], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}
