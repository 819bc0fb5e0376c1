// Reads of files named by untrusted input (a manifest, a checkpoint, a --pretrained path, a symlink
// in the dataset): only regular files, only up to a size limit, and never a blocking open. A FIFO
// opened without O_NONBLOCK waits for a writer forever and /dev/zero never ends; both fail here at
// once with the file and the fix.
import * as fs from 'fs';
import { ActionableError } from '../errors';

export class UnsafeFileError extends ActionableError {
  override readonly name = 'UnsafeFileError';
  /** errno code when the file could not be opened or read at all (ENOENT, EACCES, …). */
  readonly code?: string;
  /** The system's own message for an errno failure (e.g. "ENOENT: no such file or directory, open '…'"). */
  readonly detail?: string;

  constructor(message: string, opts: { file: string; fix: string; code?: string; detail?: string }) {
    super(message, { file: opts.file, fix: opts.fix });
    if (opts.code !== undefined) this.code = opts.code;
    if (opts.detail !== undefined) this.detail = opts.detail;
  }
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Largest checkpoint / pretrained weights file read whole (resnet50 with AdamW state is ~300 MB). */
export const MAX_WEIGHTS_BYTES = 2 * GiB;
/** Largest image file handed to a decoder. */
export const MAX_IMAGE_BYTES = 256 * MiB;
/** Largest small text/JSON file (manifests, logs, CSV, metadata). */
export const MAX_TEXT_BYTES = 64 * MiB;

export interface BoundedOptions {
  /** Refuse files larger than this. */
  maxBytes: number;
  /** What the file is, for the message: 'checkpoint', 'image', 'pretrained weights file'. */
  what: string;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** The checks every bounded read makes on the file's stat (the target's, through symlinks). */
export function checkStat(file: string, st: fs.Stats, opts: BoundedOptions): void {
  if (!st.isFile()) {
    throw new UnsafeFileError(`The ${opts.what} ${file} is ${kindOf(st)}, not a regular file`, {
      file,
      fix: `point to a regular ${opts.what} file (a symlink must lead to one)`,
    });
  }
  if (st.size > opts.maxBytes) {
    throw new UnsafeFileError(`The ${opts.what} ${file} is ${formatBytes(st.size)}, more than the ${formatBytes(opts.maxBytes)} limit for a ${opts.what}`, {
      file,
      fix: `this is not a ${opts.what} Image Trainer wrote or can use; pick the right file (its size, not its permissions, is the problem)`,
    });
  }
}

/** The error to throw for a failed open/stat/read: our own refusals as they are, system errors reworded. */
function openError(file: string, err: unknown, what: string): UnsafeFileError {
  if (err instanceof UnsafeFileError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  const fix =
    code === 'ENOENT' ? `check the path of the ${what}`
      : code === 'EACCES' || code === 'EPERM' ? `make ${file} readable (chmod u+r) and try again`
        : code === 'EISDIR' ? `point to a ${what} file, not a folder`
          : `check that ${file} is a readable ${what}`;
  const message = code === 'ENOENT' ? `The ${what} ${file} does not exist` : `Cannot read the ${what} ${file}: ${e?.message ?? String(err)}`;
  return new UnsafeFileError(message, { file, fix, ...(code ? { code, detail: e.message } : {}) });
}

/** stat() checks only (it never opens, so a FIFO cannot block): for paths handed to a library that opens them itself. */
export function assertRegularFileSync(file: string, opts: BoundedOptions): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw openError(file, err, opts.what);
  }
  checkStat(file, st, opts);
  return st;
}

export async function assertRegularFile(file: string, opts: BoundedOptions): Promise<fs.Stats> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    throw openError(file, err, opts.what);
  }
  checkStat(file, st, opts);
  return st;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** Reads a whole regular file of at most maxBytes: opened non-blocking, fstat-checked, then read to its stat size. */
export async function readFileBounded(file: string, opts: BoundedOptions): Promise<Buffer> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, OPEN_FLAGS);
  } catch (err) {
    throw openError(file, err, opts.what);
  }
  try {
    const st = await fh.stat();
    checkStat(file, st, opts);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break; // shrank while reading: return what is there
      off += bytesRead;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } catch (err) {
    throw openError(file, err, opts.what);
  } finally {
    await fh.close();
  }
}

export function readFileBoundedSync(file: string, opts: BoundedOptions): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw openError(file, err, opts.what);
  }
  try {
    const st = fs.fstatSync(fd);
    checkStat(file, st, opts);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } catch (err) {
    throw openError(file, err, opts.what);
  } finally {
    fs.closeSync(fd);
  }
}

export async function readTextBounded(file: string, opts: BoundedOptions): Promise<string> {
  return (await readFileBounded(file, opts)).toString('utf8');
}

export function readTextBoundedSync(file: string, opts: BoundedOptions): string {
  return readFileBoundedSync(file, opts).toString('utf8');
}
