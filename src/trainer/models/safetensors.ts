// The .safetensors format: 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then raw
// little-endian tensor data. Read into float32/int32 host arrays; written by writeSafetensors.
import * as fs from 'fs';
import * as path from 'path';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

export interface HostTensor {
  shape: number[];
  /** float dtypes become Float32Array, integer dtypes Int32Array. */
  data: Float32Array | Int32Array;
  /** The dtype stored in the file. */
  fileDtype: SafetensorsDtype;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file} is not a readable .safetensors file: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

export function readSafetensors(file: string): Map<string, HostTensor> {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new SafetensorsError(file, (err as Error).message);
  }
  return parseSafetensors(buf, file);
}

export function parseSafetensors(buf: Buffer, file = '<buffer>'): Map<string, HostTensor> {
  if (buf.length < 8) throw new SafetensorsError(file, `only ${buf.length} bytes long`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen < 2 || 8 + headerLen > buf.length) {
    throw new SafetensorsError(file, `header length ${headerLen} does not fit in ${buf.length} bytes (truncated download?)`);
  }
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLen));
  } catch (err) {
    throw new SafetensorsError(file, `header is not JSON (${(err as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const out = new Map<string, HostTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry ?? {};
    if (!(dtype in BYTES)) throw new SafetensorsError(file, `tensor ${name} has unsupported dtype ${dtype} (F32, F16, BF16, F64, I64, I32 are read)`);
    if (!Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
      throw new SafetensorsError(file, `tensor ${name} has a malformed header entry`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const [begin, end] = offsets as [number, number];
    if (end - begin !== count * BYTES[dtype as SafetensorsDtype] || dataStart + end > buf.length || begin < 0) {
      throw new SafetensorsError(file, `tensor ${name} [${shape}] ${dtype} has data offsets ${begin}..${end} that do not match its size or the file length`);
    }
    // slice() copies into a fresh, aligned ArrayBuffer
    const bytes = (buf.buffer as ArrayBuffer).slice(buf.byteOffset + dataStart + begin, buf.byteOffset + dataStart + end);
    out.set(name, { shape, data: decode(bytes, dtype as SafetensorsDtype, count), fileDtype: dtype });
  }
  return out;
}

function decode(bytes: ArrayBuffer, dtype: SafetensorsDtype, count: number): Float32Array | Int32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes));
    case 'I32':
      return new Int32Array(bytes);
    case 'I64': {
      const src = new BigInt64Array(bytes);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(bytes);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(bytes);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Writes float32/int32 tensors (as F32/I32) to a temp file beside `file`, then renames it. */
export function writeSafetensors(file: string, tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.data instanceof Int32Array ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (const c of chunks) fs.writeSync(fd, c);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
