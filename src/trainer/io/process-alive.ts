// Whether a process still runs, for the lock and leftover files that name their writer's pid
// (run locks, export side files, pretrained-weight download parts).

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
