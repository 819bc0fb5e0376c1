// One run at a time per run folder: OUT/.image-trainer.lock, created with O_EXCL, holds the pid,
// host and start time of the run that writes the folder. A second run is refused with the holder
// named; a lock whose process is gone (same host, pid dead) is taken over; the lock is removed when
// the run ends, also through process.exit (the CLI's second Ctrl-C, SIGTERM).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ActionableError } from '../errors';
import { readTextBoundedSync } from './bounded-read';
import { isProcessAlive } from './process-alive';

export const RUN_LOCK_FILE = '.image-trainer.lock';

export class RunLockedError extends ActionableError {
  override readonly name = 'RunLockedError';
}

export interface RunLockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface RunLock {
  readonly file: string;
  readonly owner: RunLockOwner;
  /** Removes the lock if it is still ours; safe to call twice. */
  release(): void;
}

/** A lock file that cannot be parsed and is older than this is a crashed run's half-written lock. */
const UNREADABLE_STALE_MS = 60_000;

function readOwner(file: string): RunLockOwner | null {
  try {
    const o = JSON.parse(readTextBoundedSync(file, { maxBytes: 4096, what: 'run lock file' })) as Partial<RunLockOwner>;
    if (typeof o.pid === 'number' && Number.isSafeInteger(o.pid) && o.pid > 0 && typeof o.host === 'string') {
      return { pid: o.pid, host: o.host, startedAt: String(o.startedAt ?? '?'), command: String(o.command ?? '?') };
    }
  } catch {
    // unreadable or not JSON: judged by its age below
  }
  return null;
}

type Staleness = { stale: true } | { stale: false; owner: RunLockOwner | null };

function judge(file: string): Staleness | 'gone' {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return 'gone';
  }
  const owner = readOwner(file);
  if (!owner) return Date.now() - st.mtimeMs > UNREADABLE_STALE_MS && st.isFile() ? { stale: true } : { stale: false, owner: null };
  if (owner.host !== os.hostname()) return { stale: false, owner }; // another machine's pid cannot be checked from here
  if (owner.pid === process.pid) {
    // This process: a lock it still holds is in use; one left by an earlier process with the same pid is stale.
    const mine = [...held].some((l) => l.owner.startedAt === owner.startedAt);
    return mine ? { stale: false, owner } : { stale: true };
  }
  if (!isProcessAlive(owner.pid)) return { stale: true };
  return { stale: false, owner };
}

/** How long a takeover guard may exist before it counts as left by a crashed process. */
const GUARD_STALE_MS = 10_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes a stale lock under a guard file (itself O_EXCL), judging it again inside the guard: two
 * runs taking over one stale lock at once cannot remove each other's new lock. Returns false when
 * another process holds the guard (the caller retries).
 */
function clearStale(file: string): boolean {
  const guard = `${file}.takeover`;
  let fd: number;
  try {
    fd = fs.openSync(guard, 'wx');
  } catch {
    const st = fs.statSync(guard, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS) fs.rmSync(guard, { force: true });
    return false;
  }
  try {
    const j = judge(file);
    if (j !== 'gone' && j.stale) fs.rmSync(file, { force: true });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(guard, { force: true });
  }
  return true;
}

function lockedError(dir: string, file: string, owner: RunLockOwner | null, other: string): RunLockedError {
  const who = owner ? `${owner.command} run, pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}` : 'a run whose lock file cannot be read';
  return new RunLockedError(`The run folder ${dir} is in use by another ${who}`, {
    file: dir,
    fix: `Wait for that run to finish, or ${other}; if no run is using it (e.g. it ran on another machine and was killed), delete ${file}`,
  });
}

const held = new Set<RunLock>();
let exitHookInstalled = false;
function releaseAllOnExit(): void {
  for (const l of [...held]) l.release();
}

export interface RunLockOptions {
  /** Who holds it, as the refusal names it ("image-trainer train", "VS Code window"). */
  command?: string;
  /** The other way out the refusal offers; default: the CLI's. */
  otherwise?: string;
}

/** Takes the lock of run folder `dir` (which must exist) or throws RunLockedError naming the holder. */
export function acquireRunLock(dir: string, opts: RunLockOptions = {}): RunLock {
  const otherwise = opts.otherwise ?? 'pass another --out folder';
  const file = path.join(dir, RUN_LOCK_FILE);
  const owner: RunLockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command: opts.command ?? 'image-trainer' };
  const text = JSON.stringify(owner) + '\n';
  for (let attempt = 0; attempt < 200; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new RunLockedError(`Cannot create the lock file ${file}: ${(err as Error).message}`, {
          file: dir,
          fix: code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `Make ${dir} writable, or ${otherwise}` : otherwise.charAt(0).toUpperCase() + otherwise.slice(1),
        });
      }
      const j = judge(file);
      if (j === 'gone') continue;
      if (!j.stale) throw lockedError(dir, file, j.owner, otherwise);
      if (!clearStale(file)) sleepSync(10);
      continue;
    }
    try {
      fs.writeSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
    let released = false;
    const lock: RunLock = {
      file,
      owner,
      release() {
        if (released) return;
        released = true;
        held.delete(lock);
        const now = readOwner(file);
        if (now && now.pid === owner.pid && now.startedAt === owner.startedAt && now.host === owner.host) fs.rmSync(file, { force: true });
      },
    };
    held.add(lock);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', releaseAllOnExit);
    }
    return lock;
  }
  throw lockedError(dir, file, readOwner(file), otherwise);
}
