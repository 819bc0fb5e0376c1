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
  loadedTorchAddon()?.releaseFreeMemory();
}

/**
 * Runs this command again in a child process that starts on jemalloc, when this one does not and
 * the machine has it: the child gets the terminal, and signals sent to this process are passed on;
 * this process exits as the child does. Returns false (nothing started) where there is nothing
 * to gain.
 */
export function relaunchOnJemalloc(argv: string[] = process.argv): boolean {
  const extra = allocatorEnv();
  if (Object.keys(extra).length === 0) return false;
  // the parent holds any inspector port: the child takes the other flags (--max-old-space-size, …)
  const flags = process.execArgv.filter((flag) => !/^--inspect/.test(flag));
  const child = spawn(process.execPath, [...flags, ...argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...extra } });
  const pass = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, pass(signal)] as const);
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
