// A safetensors file (8-byte little-endian header length, JSON header, raw little-endian tensor
// bytes), written to a temp file beside the target, fsynced, then renamed over it: a crash or a
// failed write at any point leaves the previous file untouched.
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { LearnerError } from './errors';

export type HostArray = Float32Array | Int32Array;

export interface HostTensor {
  shape: number[];
  data: HostArray;
}

export interface WriteHooks {
  /** Called after each tensor's bytes are written (tests inject failures and delays here). */
  afterTensor?(name: string, bytesWritten: number): void | Promise<void>;
}

const DTYPE_CODE = { float32: 'F32', int32: 'I32' } as const;

function dtypeCode(a: HostArray): string {
  return a instanceof Float32Array ? DTYPE_CODE.float32 : DTYPE_CODE.int32;
}

function headerBytes(tensors: Map<string, HostTensor>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const len = t.data.byteLength;
    header[name] = { dtype: dtypeCode(t.data), shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  // Pad so the tensor data starts 8-byte aligned (as the reference implementation does).
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const body = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  return out;
}

export async function writeSafetensorsAtomic(
  file: string,
  tensors: Map<string, HostTensor>,
  metadata: Record<string, string>,
  hooks: WriteHooks = {},
): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    let written = 0;
    const head = headerBytes(tensors, metadata);
    await handle.write(head);
    written += head.length;
    for (const [name, t] of tensors) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      await handle.write(bytes);
      written += bytes.length;
      await hooks.afterTensor?.(name, written);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new LearnerError(`Could not write ${file}: ${(err as Error).message}. The previous file, if any, is unchanged`, {
      file,
      fix: 'Check free disk space and write permission on that folder, then save again',
    });
  }
  // Make the rename itself durable; not every platform lets a directory be opened for fsync.
  await fs.open(dir, 'r').then((h) => h.sync().finally(() => h.close())).catch(() => undefined);
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, HostTensor>;
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new LearnerError(
      e.code === 'ENOENT' ? `No checkpoint at ${file}` : `Could not read ${file}: ${e.message}`,
      { file, fix: e.code === 'ENOENT' ? 'Save one first (learn.save(name)) or check the name and the run folder' : 'Check the file permissions' },
    );
  }
  const corrupt = (why: string) =>
    new LearnerError(`${file} is not a valid checkpoint (${why})`, { file, fix: 'Delete it and save again from a trained learner' });
  if (buf.length < 8) throw corrupt('file too short');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw corrupt('bad header length');
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw corrupt('header is not JSON');
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, HostTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    if (!(begin >= 0 && end >= begin && base + end <= buf.length)) throw corrupt(`tensor '${name}' lies outside the file`);
    // Copy into a fresh, aligned buffer: the file buffer's offset need not be 4-byte aligned.
    const bytes = new Uint8Array(end - begin);
    bytes.set(buf.subarray(base + begin, base + end));
    let data: HostArray;
    if (info.dtype === 'F32') data = new Float32Array(bytes.buffer);
    else if (info.dtype === 'I32') data = new Int32Array(bytes.buffer);
    else throw corrupt(`tensor '${name}' has unsupported dtype ${info.dtype}`);
    const size = (info.shape as number[]).reduce((a, b) => a * b, 1);
    if (size !== data.length) throw corrupt(`tensor '${name}' shape [${info.shape}] does not match its ${data.length} values`);
    tensors.set(name, { shape: info.shape, data });
  }
  return { metadata: (header.__metadata__ ?? {}) as Record<string, string>, tensors };
}
