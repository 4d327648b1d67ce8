import * as fs from 'node:fs';
import * as os from 'node:os';

/**
 * Errors thrown by laa-native. Every error has a stable `code`; native
 * failures (LibTorch, the checkpoint readers) arrive with the code the C++
 * core gave them.
 */
export const ERROR_CODES = {
  ENOENT: 'a file that does not exist',
  ECORRUPT: 'a file that cannot be parsed',
  EUNSAFE: 'a checkpoint that asks to run code',
  EWEIGHTS: 'weights that do not fit the architecture',
  ESHAPE: 'an input tensor of the wrong shape',
  EINVAL: 'a bad argument',
  EDEVICE: 'CUDA requested but unavailable',
  EDISPOSED: 'the object was disposed',
  ENOMEM: 'an allocation failed',
  ABORT_ERR: 'cancelled through an AbortSignal',
  EBINDING: 'the native addon could not be loaded',
  EUNSUPPORTED: 'not a video or image that can be read, or a feature this build or CPU lacks',
  ETOOLARGE: 'above a pixel or memory budget',
  ENOFACE: 'no face in any sampled frame',
  EDISTRIBUTED: 'distributed training: a rank died, stopped answering, or the rendezvous failed',
  EINTERNAL: 'anything else',
} as const;
/** The one list of codes on the JavaScript side (native/core/errors.h has the C++ one; a test checks they agree). */
export type LaaErrorCode = keyof typeof ERROR_CODES;

export class LaaError extends Error {
  readonly code: LaaErrorCode;
  constructor(code: LaaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LaaError';
    this.code = code;
  }
}

/** Thrown when an object is used after `dispose()`. */
export class DisposedError extends LaaError {
  constructor(what: string) {
    super('EDISPOSED', `${what} has been disposed`);
    this.name = 'DisposedError';
  }
}

/** Thrown when an AbortSignal cancels a call. */
export class AbortError extends LaaError {
  constructor(reason?: unknown) {
    super('ABORT_ERR', 'The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

const KNOWN = new Set<string>(Object.keys(ERROR_CODES));

/**
 * Re-throws a native error as a LaaError whose stack points at the caller
 * (captured before the native call, as sharp does).
 */
export function fromNative(err: unknown, callSite: Error): LaaError {
  if (err instanceof LaaError) return err;
  const e = err as { code?: string; message?: string; name?: string };
  const code = (e && typeof e.code === 'string' && KNOWN.has(e.code) ? e.code : 'EINTERNAL') as LaaErrorCode;
  const message = e?.message ?? String(err);
  const out = code === 'EDISPOSED' ? Object.assign(new DisposedError('this object'), { message }) : new LaaError(code, message, { cause: err });
  out.stack = `${out.name} [${code}]: ${out.message}\n${(callSite.stack ?? '').split('\n').slice(1).join('\n')}`;
  return out;
}

/** Awaits a native call, re-throwing its failure as a LaaError whose stack points at the caller. */
export async function callNative<T>(call: () => Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await call();
  } catch (err) {
    throw fromNative(err, site);
  }
}

/**
 * A path argument: a non-empty string without NUL bytes (the C library would cut it short at the first one, and a
 * caller that checked the extension in JavaScript would be fooled; Node's own fs refuses them too).
 */
export function checkPath(name: string, value: unknown, what = 'a file path'): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(name, what, value);
  if (value.includes('\0')) throw new LaaError('EINVAL', `Expected ${what} without NUL bytes for ${name} but received one with a NUL at index ${value.indexOf('\0')}`);
  return value;
}

/**
 * The most threads any option may ask for: 4 per core (at least 4, at most 256). More only oversubscribes the CPU,
 * and a failed thread start inside OpenMP aborts the process instead of raising an error.
 */
export const MAX_THREADS = Math.min(256, Math.max(4, 4 * os.availableParallelism()));

/** A thread-count option: an integer from 1 to MAX_THREADS. */
export function checkThreads(name: string, value: unknown, fallback: number): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    throw invalidArgument(name, `an integer from 1 to ${MAX_THREADS} (4 per core)`, n);
  return n;
}

/** An options argument: undefined (→ {}) or a plain object. */
export function checkOptions<T extends object>(name: string, value: T | undefined | null): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(name, 'an options object', value);
  return value;
}

/** An optional AbortSignal. */
export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgument(name, 'an AbortSignal', value);
  return value;
}

/** An optional callback. */
export function checkFunction<T extends (...args: never[]) => unknown>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidArgument(name, 'a function', value);
  return value as T;
}

/**
 * A folder the package writes into: created if missing; EINVAL (not a raw EEXIST/ENOTDIR) when the path or a
 * parent is a file.
 */
export function ensureDir(name: string, dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST' || e.code === 'ENOTDIR')
      throw new LaaError('EINVAL', `Expected ${name} '${dir}' to be a folder (or not to exist yet) but it is a file`, { cause: err });
    throw new LaaError(e.code === 'EACCES' || e.code === 'EPERM' ? 'EINVAL' : 'EINTERNAL', `cannot create ${name} '${dir}': ${e.message}`, { cause: err });
  }
}

/** Builds the error for a bad argument, sharp style: what was expected, what was received. */
export function invalidArgument(name: string, expected: string, received: unknown): LaaError {
  const got = typeof received === 'string' ? `'${received}'` : typeof received === 'object' ? Object.prototype.toString.call(received) : String(received);
  return new LaaError('EINVAL', `Expected ${expected} for ${name} but received ${got}`);
}
