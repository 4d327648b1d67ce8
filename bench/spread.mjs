// One speed per process (issue #14): does a fresh process run the network at the
// same speed as the next one? Three designs, over fresh processes that load the
// same weights file and time batch-1 forwards (bench/process.mjs):
//
// - sequential: one process after the other, 25 calls each (what a user sees);
//   on a shared VM the host's own swings, which last seconds, land on whole
//   processes and read as "slow processes".
// - interleaved: all N processes loaded, then they take turns, a few calls each,
//   round after round; every process meets the same host conditions, so what is
//   left between their medians is the processes' own state (memory layout,
//   threads, page faults), which is what a process-level fix can change.
// - one process, N windows: a single process does N times what a fresh process
//   does in the sequential design: the host's swings alone, for comparison.
//
// As a module: sequential / interleaved / windows(file, size, { threads, processes, ... }); as a script:
//   node bench/spread.mjs FILE SIZE [threads] [processes] [OTHER_ADDON]
// where OTHER_ADDON (a laa_native.node of another build) makes the interleaved run alternate processes of that build
// and of this one, under the same host conditions (how bench/RESULTS.md compares before and after).
import { fork, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'process.mjs');
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function sequential(file, size, { threads = 2, processes = 10, env = process.env, dtype = 'float32' } = {}) {
  const runs = [];
  for (let i = 0; i < processes; i++) {
    const r = spawnSync(process.execPath, [child, file, String(size), String(threads), dtype], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`bench/process.mjs failed: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  return summary(runs);
}

export function windows(file, size, { threads = 2, processes = 10, env = process.env, dtype = 'float32' } = {}) {
  const r = spawnSync(process.execPath, [child, file, String(size), String(threads), dtype, '--windows', String(processes)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`bench/process.mjs failed: ${r.stderr}`);
  const { first, steady } = JSON.parse(r.stdout.trim().split('\n').pop());
  return summary(steady.map((s) => ({ first, steady: s })));
}

// `variants`: [{ name, env }] to compare builds or settings under the same host conditions
// (`processes` of each, loaded alternately); the result has one summary per variant name.
export async function interleaved(file, size, { threads = 2, processes = 10, rounds, callsPerTurn = 4, variants, dtype = 'float32' } = {}) {
  const kinds = variants ?? [{ name: 'this build', env: process.env }];
  const kids = [];
  try {
    // Loaded one at a time, so loads and first calls do not overlap.
    for (let i = 0; i < processes; i++) {
      for (const v of kinds) {
        const k = fork(child, [file, String(size), String(threads), dtype, '--serve'], { env: v.env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        const ready = await reply(k);
        kids.push({ variant: v.name, proc: k, load: ready.load, first: ready.first, times: [] });
      }
    }
    const n = rounds ?? Math.max(10, Math.ceil(6000 / (median(kids.map((k) => k.first)) * callsPerTurn * kids.length)) * 2);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < kids.length; j++) {
        const k = kids[(j + r) % kids.length];  // a new order each round
        k.proc.send({ calls: callsPerTurn });
        const { times } = await reply(k.proc);
        k.times.push(...times.slice(1));  // the first call of a turn follows another process's caches
      }
    }
    const out = {};
    for (const v of kinds) {
      const mine = kids.filter((k) => k.variant === v.name);
      out[v.name] = summary(mine.map((k) => ({ load: k.load, first: k.first, steady: median(k.times) })), n);
    }
    return variants ? out : out[kinds[0].name];
  } finally {
    for (const k of kids) k.proc.kill();
  }
}

function reply(proc) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`bench/process.mjs exited with ${code} before answering`));
    proc.once('exit', onExit);
    proc.once('message', (m) => {
      proc.off('exit', onExit);
      resolve(m);
    });
  });
}

function summary(runs, rounds) {
  const steady = runs.map((r) => r.steady);
  const firstRatio = runs.map((r) => r.first / r.steady).sort((a, b) => a - b);
  return {
    steady,
    maxOverMin: Math.max(...steady) / Math.min(...steady),
    firstOverSteadyMedian: median(firstRatio),
    firstOverSteadyMax: firstRatio[firstRatio.length - 1],
    ...(rounds ? { rounds } : {}),
  };
}

export function describe(name, s, { first = true } = {}) {
  return `${name}: steady medians ${s.steady.map((v) => v.toFixed(1)).join(' ')} ms; max/min ${s.maxOverMin.toFixed(2)}` +
    (first ? `; first call after load / steady: median ${s.firstOverSteadyMedian.toFixed(2)}, worst ${s.firstOverSteadyMax.toFixed(2)}` : '');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, size, threads = '2', processes = '10', other] = process.argv.slice(2);
  const opts = { threads: Number(threads), processes: Number(processes) };
  if (other) {
    const variants = [{ name: other, env: { ...process.env, LAA_NATIVE_BINDING: path.resolve(other) } }, { name: 'this build', env: process.env }];
    for (const [name, r] of Object.entries(await interleaved(file, Number(size), { ...opts, variants }))) console.log(describe(`interleaved, ${name}`, r));
    process.exit(0);
  }
  console.log(describe('interleaved', await interleaved(file, Number(size), opts)));
  console.log(describe('sequential', sequential(file, Number(size), opts)));
  console.log(describe('one process', windows(file, Number(size), opts)));
}
