// The run folder (`--out`) is made ready before the first batch: created (a file in the way, no
// permission or a read-only place is found now, not after an hour of training), proven writable,
// and its models/ place for the checkpoint checked.
import * as fs from 'fs';
import * as path from 'path';
import { ActionableError } from '../errors';
import { makeFoldersSync } from './make-folders';

export class RunFolderError extends ActionableError {
  override readonly name = 'RunFolderError';
}

const FIX_OTHER_OUT = 'pass an --out folder you can write to (a new folder is created)';

function why(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'it is on a read-only file system';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is used up';
    case 'ENOENT':
      return 'that place does not accept new folders';
    default:
      return code ?? 'unknown error';
  }
}

/** The nearest ancestor of p that exists (p itself if it does), and what it is. */
function nearestExisting(p: string): { at: string; st: fs.Stats | null } {
  for (let cur = p; ; cur = path.dirname(cur)) {
    try {
      return { at: cur, st: fs.statSync(cur) };
    } catch (err) {
      if (path.dirname(cur) === cur) return { at: cur, st: null };
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { at: cur, st: null };
    }
  }
}

/**
 * Creates `dir` (and its parents) and checks a file can be written there; throws RunFolderError
 * naming the folder, the reason and the fix. `flag` is how the user named it ('--out').
 */
export function prepareRunFolder(dir: string, flag = '--out'): string {
  const target = path.resolve(dir);
  const { at, st } = nearestExisting(target);
  if (st && !st.isDirectory()) {
    const inTheWay = at === target ? `${target} is a file, not a folder` : `${at} is a file, so ${target} cannot be created under it`;
    throw new RunFolderError(`The ${flag} folder cannot be used: ${inTheWay}`, { file: target, fix: `${FIX_OTHER_OUT}, or move ${at} away` });
  }
  try {
    makeFoldersSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunFolderError(`Cannot create the ${flag} folder ${target}: ${why(code)} (in ${at})`, { file: target, fix: FIX_OTHER_OUT });
  }
  // access(W_OK) says yes to root on a read-only mount; writing a probe file is the real test.
  const probe = path.join(target, `.write-test-${process.pid}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'wx' });
    fs.rmSync(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new RunFolderError(`Cannot write in the ${flag} folder ${target}: ${why(code)}`, { file: target, fix: FIX_OTHER_OUT });
  }
  return target;
}

/** models/<name>.safetensors can be written: models/ is a folder (or absent) and the name is not a folder or special file. */
export function checkCheckpointPlace(runDir: string, file: string): void {
  const models = path.dirname(file);
  const m = fs.statSync(models, { throwIfNoEntry: false });
  if (m && !m.isDirectory()) {
    throw new RunFolderError(`Cannot save checkpoints in ${models}: it is a file, not a folder`, { file: models, fix: `move ${models} away, or pass another --out folder than ${runDir}` });
  }
  const f = fs.lstatSync(file, { throwIfNoEntry: false });
  if (f && !f.isFile()) {
    throw new RunFolderError(`Cannot save the checkpoint ${file}: a ${f.isDirectory() ? 'folder' : f.isSymbolicLink() ? 'symbolic link' : 'special file'} of that name is in the way`, {
      file,
      fix: `choose another --save name, or move ${file} away`,
    });
  }
}
