// The .safetensors format: 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then raw
// little-endian tensor data. Read into float32/int32 host arrays; written as F32/I32, atomically.
import { ActionableError } from '../errors';
import { writeFileAtomic } from './atomic-write';
import { MAX_WEIGHTS_BYTES, readFileBounded, readFileBoundedSync, UnsafeFileError } from './bounded-read';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';

export type HostArray = Float32Array | Int32Array;

export interface HostTensor {
  shape: number[];
  /** float dtypes become Float32Array, integer dtypes Int32Array. */
  data: HostArray;
  /** The dtype stored in the file (set by the reader). */
  fileDtype?: SafetensorsDtype;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, HostTensor>;
}

export interface WriteHooks {
  /** Called after each tensor's bytes are written (tests inject failures and delays here). */
  afterTensor?(name: string, bytesWritten: number): void | Promise<void>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

export class SafetensorsError extends ActionableError {
  override readonly name = 'SafetensorsError';
  constructor(
    file: string,
    /** What is wrong with the file, without the file name (callers reword it for their context). */
    readonly problem: string,
    /** The errno code when the file could not be read at all. */
    readonly code?: string,
  ) {
    super(`${file} is not a readable .safetensors file: ${problem}`, {
      file,
      fix: code === 'EACCES' || code === 'EPERM'
        ? `make ${file} readable (chmod u+r) and try again`
        : code === 'ENOENT' ? 'check the path of the .safetensors file'
          : 'use a complete .safetensors file (download or save it again if it was cut short or altered)',
    });
  }
}

/** An errno failure becomes a SafetensorsError with its code; a file refused by the bounded read (FIFO, device, too big) keeps its own message and fix. */
function readError(file: string, err: unknown): Error {
  if (err instanceof UnsafeFileError && !err.code) return err;
  const e = err as NodeJS.ErrnoException & { detail?: string };
  return new SafetensorsError(file, e.detail ?? e.message, e.code);
}

const READ_LIMIT = { maxBytes: MAX_WEIGHTS_BYTES, what: '.safetensors file' };

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let buf: Buffer;
  try {
    buf = await readFileBounded(file, READ_LIMIT);
  } catch (err) {
    throw readError(file, err);
  }
  return parseSafetensors(buf, file);
}

/** For synchronous callers (the torchvision weight loader). */
export function readSafetensorsSync(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileBoundedSync(file, READ_LIMIT);
  } catch (err) {
    throw readError(file, err);
  }
  return parseSafetensors(buf, file);
}

export function parseSafetensors(buf: Buffer, file = '<buffer>'): SafetensorsFile {
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
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(file, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, HostTensor>();
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
    // slice() copies into a fresh, aligned ArrayBuffer: the file buffer's offset need not be aligned
    const bytes = (buf.buffer as ArrayBuffer).slice(buf.byteOffset + dataStart + begin, buf.byteOffset + dataStart + end);
    tensors.set(name, { shape, data: decode(bytes, dtype as SafetensorsDtype, count), fileDtype: dtype });
  }
  return { metadata: (header.__metadata__ ?? {}) as Record<string, string>, tensors };
}

function decode(bytes: ArrayBuffer, dtype: SafetensorsDtype, count: number): HostArray {
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

function headerBytes(tensors: Map<string, HostTensor>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const len = t.data.byteLength;
    header[name] = { dtype: t.data instanceof Int32Array ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  // Pad so the tensor data starts 8-byte aligned (as the reference implementation does).
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  return out;
}

/**
 * Writes float32/int32 tensors (as F32/I32) atomically: a crash or a failed write at any point
 * leaves the previous file untouched. Failures are thrown as they happened (temp file removed).
 */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, HostTensor>,
  metadata: Record<string, string> = {},
  hooks: WriteHooks = {},
): Promise<void> {
  await writeFileAtomic(file, async (out) => {
    const head = headerBytes(tensors, metadata);
    await out.write(head);
    let written = head.length;
    for (const [name, t] of tensors) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      await out.write(bytes);
      written += bytes.length;
      await hooks.afterTensor?.(name, written);
    }
  });
}
