// A minimal safetensors reader for the test fixtures (independent of the
// addon's C++ reader, so the two check each other).
import * as fs from 'node:fs';

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Uint8Array | BigInt64Array;
}

/** IEEE binary16 bits to a number (exact). F16 tensors are read as Float64Array. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function readSafetensors(path: string): { tensors: Record<string, FixtureTensor>; metadata: Record<string, string> } {
  const buf = fs.readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const tensors: Record<string, FixtureTensor> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = v.data_offsets as [number, number];
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const data =
      v.dtype === 'F32' ? new Float32Array(ab)
      : v.dtype === 'F64' ? new Float64Array(ab)
      : v.dtype === 'F16' ? Float64Array.from(new Uint16Array(ab), halfToNumber)
      : v.dtype === 'I64' ? new BigInt64Array(ab)
      : new Uint8Array(ab);
    tensors[name] = { dtype: v.dtype, shape: v.shape, data };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

const DTYPE_OF: Record<string, string> = {
  Float32Array: 'F32', Float64Array: 'F64', BigInt64Array: 'I64', Uint8Array: 'U8',
};

/**
 * Writes tensors as safetensors (order kept). Used to build malformed weight files. The `data_sha256` entry the
 * package's writer records is dropped (it would no longer match the altered data) unless `keepDigest`.
 */
export function writeSafetensors(path: string, tensors: Record<string, FixtureTensor>, metadata?: Record<string, string>, keepDigest = false): void {
  const header: Record<string, unknown> = {};
  if (metadata) {
    const { data_sha256, ...rest } = metadata;
    header.__metadata__ = keepDigest && data_sha256 !== undefined ? metadata : rest;
  }
  let offset = 0;
  const chunks: Buffer[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: DTYPE_OF[t.data.constructor.name] ?? t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...chunks]));
}
