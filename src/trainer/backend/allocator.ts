// The memory allocator of the process that trains. glibc's malloc keeps the freed activation
// memory of a training step scattered through its heap, and gives blocks over 32 MB back to the
// kernel at every free, so the next step faults them in again: at 224 px, resnet34 peaks at
// ≈2.4 GB where ≈1.6 GB is live, and runs slower than it could. jemalloc, preloaded with purging
// off, reuses that memory (bench/RESULTS.md "jemalloc"). The trainer's processes start on it where
// the machine has it (Debian/Ubuntu: libjemalloc2; src/protocol/trainer-launch.ts), and
// `releaseFreeMemory` hands what it keeps back once a job is done. Preloading is the only way in:
// an allocator loaded after start would be handed memory that glibc gave out.
import { spawn } from 'child_process';
import * as fs from 'fs';
import { loadedTorchAddon } from './torch/addon';
import { ALLOCATOR_SWITCH, JEMALLOC_FIX, allocatorEnv as launchEnv, findJemalloc as findJemallocOn } from '../../protocol/trainer-launch';

export { ALLOCATOR_SWITCH, JEMALLOC_CONF, JEMALLOC_FIX } from '../../protocol/trainer-launch';

export interface AllocatorInfo {
  name: 'jemalloc' | 'system';
  /** The jemalloc library mapped into this process. */
  path?: string;
  /** Why the system allocator runs, when it does. */
  why?: string;
  /** What gives jemalloc, where installing it would. */
  fix?: string;
}

/** The jemalloc library on this machine, or null. */
export function findJemalloc(): string | null {
  return findJemallocOn(fs.existsSync, process.platform);
}

/** What starts a trainer process from `env` on jemalloc (empty: nothing to add). */
export function allocatorEnv(env: NodeJS.ProcessEnv = process.env, jemalloc = findJemalloc()): Record<string, string> {
  return launchEnv(env, jemalloc);
}

/** The allocator this process runs on, read from its memory map. */
export function processAllocator(maps = readMaps(), env: NodeJS.ProcessEnv = process.env): AllocatorInfo {
  const lib = maps.split('\n').map((l) => l.trim().split(/\s+/)[5]).find((file) => file && /\/libjemalloc\.so[.\d]*$/.test(file));
  if (lib) return { name: 'jemalloc', path: lib };
  if (process.platform !== 'linux') return { name: 'system' };
  if (env[ALLOCATOR_SWITCH] === 'system') return { name: 'system', why: `${ALLOCATOR_SWITCH}=system` };
  if (findJemalloc()) return { name: 'system', why: 'this process was not started through image-trainer or the extension' };
  return { name: 'system', why: 'no libjemalloc.so.2 on this machine', fix: JEMALLOC_FIX };
}

function readMaps(): string {
  try {
    return fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return '';
  }
}

/**
 * After a job: the memory the allocator kept for the next step goes back to the kernel (jemalloc
 * purges, glibc trims). Only where the torch addon is loaded: nothing else allocates at that scale
 * outside the JS heap.
 */
export function releaseFreeMemory(): void {
  try {
    loadedTorchAddon()?.releaseFreeMemory();
  } catch {
    // a job that finished must not fail for this: the memory stays with the allocator, for reuse
  }
}

/** A signal this soon after the last one is the same one passed on by the relaunching process. */
export const SIGNAL_ECHO_MS = 300;

/** Set in a relaunched child: the pid of the image-trainer process waiting for it. */
const LAUNCHER_PID = 'IMAGE_TRAINER_LAUNCHER_PID';

/**
 * Runs this command again on jemalloc, when this process does not run on it and the machine has
 * it. Where Node has process.execve (22.15+) this process becomes the new one. Elsewhere a child
 * gets the terminal; this process passes on the signals sent to it and exits as the child does. A
 * terminal's Ctrl-C reaches both, so the child gets it twice at once: the CLI counts signals
 * within SIGNAL_ECHO_MS as one (src/trainer/cli/run.ts). Returns false (nothing started) where
 * there is nothing to gain.
 */
export function relaunchOnJemalloc(argv: string[] = process.argv): boolean {
  const extra = allocatorEnv();
  if (Object.keys(extra).length === 0) return false;
  // the parent holds any inspector port: the child takes the other flags (--max-old-space-size, …)
  const args = [...process.execArgv.filter((flag) => !/^--inspect/.test(flag)), ...argv.slice(1)];
  const env = { ...process.env, ...extra };
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (execve) execve(process.execPath, [process.execPath, ...args], env);
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...env, [LAUNCHER_PID]: String(process.pid) } });
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, () => child.kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  child.on('error', (err) => {
    console.error(`image-trainer: could not start on jemalloc (${err.message}); set ${ALLOCATOR_SWITCH}=system to skip it`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const [name, handler] of handlers) process.off(name, handler);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
  return true;
}

/**
 * In a relaunched child: if the image-trainer process that started it dies (SIGKILL, a closed
 * terminal), stop as on SIGTERM, at the next batch with what finished written, instead of running on
 * unseen.
 */
export function stopWithLauncher(): void {
  const launcher = Number(process.env[LAUNCHER_PID]);
  delete process.env[LAUNCHER_PID];
  if (!launcher || process.ppid !== launcher) return;
  const watch = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 1000);
  watch.unref();
}
