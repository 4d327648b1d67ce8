/**
 * Data-parallel training over several processes (issue 16): the options a
 * Trainer takes (also read from the environment torchrun sets), and the
 * launcher behind `laa-native train --nproc N`, which starts N ranks on this
 * machine and passes Ctrl-C and failures on. The transport is LibTorch's
 * c10d (TCPStore rendezvous, Gloo process group): native/train/distributed.*.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { invalidArgument } from '../binding/errors';

export interface DistributedOptions {
  /** `gloo` (CPU; the only backend of the LibTorch this package ships). Default `gloo`. */
  backend?: 'gloo';
  /** This process's rank, 0 ≤ rank < worldSize. Default: `RANK`. */
  rank?: number;
  /** Number of processes. Default: `WORLD_SIZE`. */
  worldSize?: number;
  /** Rank 0's address: it serves the rendezvous store. Default: `MASTER_ADDR`, else 127.0.0.1. */
  masterAddr?: string;
  /** Default: `MASTER_PORT`, else 29500. */
  masterPort?: number;
  /**
   * How long a collective (or the rendezvous) waits for the other ranks before failing with EDISTRIBUTED.
   * Rank 0 evaluates alone between epochs (`evaluation`), so keep it above that. Default 30 minutes.
   */
  timeoutMs?: number;
  /** BatchNorm statistics of the whole global batch (SyncBN) instead of each rank's rows. Default false. */
  syncBatchNorm?: boolean;
}

export interface ResolvedDistributed {
  backend: 'gloo';
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
  syncBatchNorm: boolean;
}

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

function envInt(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalidArgument(`the environment variable ${key}`, 'an integer', v);
  return n;
}

/**
 * The distributed setup of a Trainer: `options` (true: all from the environment) with the torchrun variables
 * (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`) for what it leaves out. Undefined `options` and no
 * `WORLD_SIZE` in the environment: a single process.
 */
export function resolveDistributed(options: DistributedOptions | boolean | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedDistributed | undefined {
  if (options === false) return undefined;
  if (options === undefined && !env.WORLD_SIZE) return undefined;
  const o: DistributedOptions = typeof options === 'object' && options !== null ? options : {};
  if (options !== undefined && typeof options !== 'boolean' && (typeof options !== 'object' || options === null))
    throw invalidArgument('options.distributed', 'true or { rank, worldSize, masterAddr, masterPort, timeoutMs, syncBatchNorm }', options);
  const worldSize = o.worldSize ?? envInt(env, 'WORLD_SIZE');
  const rank = o.rank ?? envInt(env, 'RANK');
  if (typeof worldSize !== 'number' || !Number.isInteger(worldSize) || worldSize < 1)
    throw invalidArgument('options.distributed.worldSize (or WORLD_SIZE)', 'an integer ≥ 1', worldSize);
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw invalidArgument('options.distributed.rank (or RANK)', `an integer in 0..${worldSize - 1}`, rank);
  const masterAddr = o.masterAddr ?? env.MASTER_ADDR ?? '127.0.0.1';
  if (typeof masterAddr !== 'string' || masterAddr === '') throw invalidArgument('options.distributed.masterAddr (or MASTER_ADDR)', 'a host name or address', masterAddr);
  const masterPort = o.masterPort ?? envInt(env, 'MASTER_PORT') ?? 29500;
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535)
    throw invalidArgument('options.distributed.masterPort (or MASTER_PORT)', 'a port 1..65535', masterPort);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100)
    throw invalidArgument('options.distributed.timeoutMs', 'an integer ≥ 100 (milliseconds)', timeoutMs);
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo') throw invalidArgument('options.distributed.backend', "'gloo' (this build's LibTorch has no NCCL)", backend);
  return { backend, rank, worldSize, masterAddr, masterPort, timeoutMs, syncBatchNorm: !!o.syncBatchNorm };
}

/** A free TCP port on this machine (for the rendezvous of a one-machine run). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface LaunchOptions {
  /** Ranks on this machine. */
  nproc: number;
  /** Machines. Default 1. */
  nnodes?: number;
  /** This machine's index, 0 ≤ nodeRank < nnodes. Default 0. */
  nodeRank?: number;
  masterAddr?: string;
  /** Default: a free port for one machine, 29500 for several. */
  masterPort?: number;
  /** The command each rank runs (default: this process's own command line). */
  command?: string;
  args?: string[];
  /** How long the other ranks get to exit on their own after one fails, before they are killed. Default 20 s. */
  graceMs?: number;
  /** Lines from ranks other than 0 (stderr), prefixed with their rank. Default: this process's stderr. */
  log?: (line: string) => void;
}

/**
 * Runs `nproc` ranks of the same command on this machine with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT set (and LAA_NATIVE_RANK_OF_LAUNCH, which keeps them from launching again).
 * Ctrl-C (SIGINT) and SIGTERM are passed to every rank (they stop after the step in flight and rank 0 writes a
 * checkpoint); when a rank fails, the others get `graceMs` to fail on their own (EDISTRIBUTED), then are
 * killed. Resolves with the exit code: 0 when every rank succeeded, else the first failure's.
 */
export async function launch(o: LaunchOptions): Promise<number> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(o.nproc) || o.nproc < 1) throw invalidArgument('--nproc', 'an integer ≥ 1', o.nproc);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw invalidArgument('--nnodes', 'an integer ≥ 1', nnodes);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw invalidArgument('--node-rank', `an integer in 0..${nnodes - 1}`, nodeRank);
  const masterAddr = o.masterAddr ?? '127.0.0.1';
  if (nnodes > 1 && o.masterAddr === undefined) throw invalidArgument('--master-addr', "node 0's address (several machines)", undefined);
  const masterPort = o.masterPort ?? (nnodes > 1 ? 29500 : await freePort());
  const worldSize = o.nproc * nnodes;
  const command = o.command ?? process.execPath;
  const args = o.args ?? process.argv.slice(1);
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const graceMs = o.graceMs ?? 20_000;
  const children: ChildProcess[] = [];
  let failure: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const exits: Promise<void>[] = [];
  const live = () => children.filter((c) => c.exitCode === null && c.signalCode === null);
  let stopping = false;
  const forward = (signal: NodeJS.Signals) => () => {
    stopping = true;
    for (const c of live()) c.kill(signal);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    for (let local = 0; local < o.nproc; local++) {
      const rank = nodeRank * o.nproc + local;
      const env = {
        ...process.env,
        RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(local), LOCAL_WORLD_SIZE: String(o.nproc),
        GROUP_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort), LAA_NATIVE_RANK_OF_LAUNCH: '1',
      };
      // Their own process groups: a terminal's Ctrl-C reaches the launcher only, which passes it on once.
      const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'inherit', rank === 0 ? 'inherit' : 'pipe'] });
      children.push(child);
      if (child.stderr) {
        let rest = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
          const lines = (rest + chunk).split(/\r?\n|\r/);
          rest = lines.pop() ?? '';
          for (const l of lines) if (l.trim()) log(`[rank ${rank}] ${l}`);
        });
        child.stderr.on('end', () => rest.trim() && log(`[rank ${rank}] ${rest}`));
      }
      exits.push(
        new Promise<void>((resolve) => {
          child.once('error', (err) => {
            log(`laa-native: rank ${rank} could not start: ${err.message}`);
            failure ??= 1;
            resolve();
          });
          child.once('exit', (code, signal) => {
            const ok = code === 0;
            if (stopping && code === 130) failure ??= 130;  // stopped as asked, checkpoint written
            else if (!ok && failure === undefined) {
              failure = code ?? 1;
              log(`laa-native: rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; the other ranks get ${Math.round(graceMs / 1000)} s to stop`);
              killTimer = setTimeout(() => {
                for (const c of live()) c.kill('SIGKILL');
              }, graceMs);
              killTimer.unref();
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  }
  return failure ?? 0;
}

/** Threads per rank when several share this machine: its cores divided among them (at least 1). */
export function threadsPerRank(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.LOCAL_WORLD_SIZE ?? '');
  return Number.isInteger(n) && n > 1 ? Math.max(1, Math.floor(os.availableParallelism() / n)) : undefined;
}
