// Write a file so that a reader sees either the old content or the new, never half of it: write a
// temp file beside it, flush it to disk, rename it over the target, then flush the folder so the
// rename itself survives a crash. On any failure the temp file is removed and the target is untouched.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { makeFolders, makeFoldersSync } from './make-folders';
import { isProcessAlive } from './process-alive';

export interface AtomicWriteOptions {
  /** Permission bits for the new file; 'keep' copies the replaced file's mode (0o644 for a new file). */
  mode?: number | 'keep';
}

/** Content, or a function that writes it piece by piece to the open temp file. */
export type AtomicContent = string | Uint8Array | ((out: fs.promises.FileHandle) => Promise<void>);

/** `.name.<pid>.<random>.tmp` beside the target: same filesystem, so the rename is atomic. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Removes temp files of `file` left by writers that were killed mid-write (their pid is gone): a
 * killed checkpoint save leaves a 60-140 MB `.tmp` that nothing else would ever remove.
 */
export function removeOrphanTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(n.slice(prefix.length));
    if (!m || isProcessAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, n), { force: true });
  }
}

function modeFor(file: string, mode: AtomicWriteOptions['mode']): number | undefined {
  if (mode !== 'keep') return mode;
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return 0o644;
  }
}

/** fsync a folder so renames and new entries in it survive a crash. */
export async function syncFolder(dir: string): Promise<void> {
  // Not every platform lets a directory be opened for fsync; the file itself is already durable.
  await fs.promises
    .open(dir, 'r')
    .then((h) => h.sync().finally(() => h.close()))
    .catch(() => undefined);
}

function syncFolderSync(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // see syncFolder
  }
}

/** Throws the original error (after removing the temp file) so callers can explain it in their own terms. */
export async function writeFileAtomic(file: string, content: AtomicContent, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await makeFolders(dir);
  removeOrphanTemps(file);
  const tmp = tempPathFor(file);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, 'wx', modeFor(file, opts.mode));
    if (typeof content === 'function') await content(handle);
    else await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncFolder(dir);
}

/** The same for synchronous callers. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  makeFoldersSync(dir);
  removeOrphanTemps(file);
  const tmp = tempPathFor(file);
  try {
    const fd = fs.openSync(tmp, 'wx', modeFor(file, opts.mode));
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncFolderSync(dir);
}

export function writeJsonAtomic(file: string, value: unknown, opts: AtomicWriteOptions = {}): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', opts);
}
