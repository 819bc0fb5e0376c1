// File operations the cleaner needs to be safe: moves that never overwrite, atomic rewrites, and
// permission checks that give a person the file and the fix (even when running as root, where
// access() says yes to everything, a file without write bits is treated as read-only on purpose).
import * as fs from 'fs';
import * as path from 'path';
import { InterpretError } from './errors';
import { writeFileAtomicSync as writeAtomicSync } from '../io/atomic-write';
import { confineToRoot, OutsideRootError } from '../io/confine';
import { makeFoldersSync } from '../io/make-folders';

export function isReadOnly(p: string): boolean {
  const st = fs.statSync(p);
  if ((st.mode & 0o222) === 0) return true;
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

/** Throws a clear error when `p` (a file or a folder) may not be changed. */
export function assertWritable(p: string, what: 'file' | 'folder'): void {
  if (!isReadOnly(p)) return;
  const fix =
    what === 'file'
      ? `make it writable (e.g. chmod u+w '${p}') and try again; the file was left where it is`
      : `make the folder writable (e.g. chmod u+w '${p}') and try again; nothing was changed`;
  throw new InterpretError(`The ${what} ${p} is read-only`, { file: p, fix });
}

/** A filesystem error turned into a person-readable one; nothing is assumed about what happened. */
export function explainFsError(err: unknown, file: string, doing: string): InterpretError {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof InterpretError) return e;
  const code = e?.code ?? '';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new InterpretError(`Permission denied while ${doing}: ${file}`, {
      file,
      fix: code === 'EROFS' ? 'the dataset is on a read-only disk; copy it somewhere writable' : `make ${file} and its folder writable (chmod u+w) and try again; nothing was lost`,
    });
  }
  if (code === 'ENOSPC') return new InterpretError(`The disk is full while ${doing}: ${file}`, { file, fix: 'free some disk space and try again' });
  return new InterpretError(`Failed while ${doing}: ${e?.message ?? String(err)}`, { file });
}

const LINK_UNSUPPORTED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/**
 * Move a file to `dst` only if nothing is there: hard-link then unlink (the link fails with EEXIST
 * rather than replacing), or copy with COPYFILE_EXCL where links are not possible. If the source
 * cannot be removed afterwards the new copy is removed again, so the file ends up in exactly one place.
 * Throws the raw EEXIST error when `dst` exists so callers can try another name.
 */
export function moveNoOverwrite(src: string, dst: string): void {
  makeFoldersSync(path.dirname(dst));
  try {
    fs.linkSync(src, dst);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!LINK_UNSUPPORTED.has(code)) throw err;
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
  }
  try {
    fs.unlinkSync(src);
  } catch (err) {
    fs.rmSync(dst, { force: true });
    throw err;
  }
}

/** Replace a file's content atomically (temp file beside it, fsync, rename), keeping its mode. */
export function writeFileAtomicSync(file: string, data: string): void {
  writeAtomicSync(file, data, { mode: 'keep' });
}

// The cleaner imports it from here; the data pipeline owns it.
export { posixPath } from '../data/discover';

/** Resolves `file` and refuses anything outside `root`, lexically and after resolving symlinks (io/confine). */
export function resolveInside(root: string, file: string): string {
  try {
    return confineToRoot(root, file, { rootName: 'the dataset folder', fix: 'only files inside the open dataset can be relabelled or deleted' });
  } catch (err) {
    if (err instanceof OutsideRootError) throw new InterpretError(err.message, { file: err.file, fix: err.fix });
    throw err;
  }
}
