// How a trainer process is started (the extension forks its child, image-trainer relaunches
// itself, bench rows spawn): on jemalloc where the machine has it, for the reason in
// src/trainer/backend/allocator.ts. Pure: callers pass how to test for a file.

/** IMAGE_TRAINER_ALLOCATOR=system keeps the process on the system allocator. */
export const ALLOCATOR_SWITCH = 'IMAGE_TRAINER_ALLOCATOR';
export const JEMALLOC_FIX = 'apt-get install libjemalloc2';
/** What jemalloc gives the torch backend (bench/RESULTS.md "jemalloc"), for the messages that offer it. */
export const JEMALLOC_GAIN = 'on jemalloc the torch backend trains up to 1.5x faster in less memory';
/** Never purge during a job: what a step frees, the next step reuses (a job's end purges). */
export const JEMALLOC_CONF = 'dirty_decay_ms:-1,muzzy_decay_ms:-1';

const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
];

/** The jemalloc library on this machine, or null (Linux only). */
export function findJemalloc(exists: (file: string) => boolean, platform: string): string | null {
  if (platform !== 'linux') return null;
  return JEMALLOC_PATHS.find((file) => exists(file)) ?? null;
}

/**
 * What to add to a trainer process's environment so that it starts on jemalloc: LD_PRELOAD (after
 * any the user set) and, unless the user set one, MALLOC_CONF. Empty where there is no jemalloc,
 * where it is switched off, or where `env` already preloads it.
 */
export function allocatorEnv(env: Record<string, string | undefined>, jemalloc: string | null): Record<string, string> {
  if (!jemalloc || env[ALLOCATOR_SWITCH] === 'system') return {};
  const preload = (env.LD_PRELOAD ?? '').split(/[:\s]+/).filter(Boolean);
  if (preload.some((lib) => /libjemalloc\.so/.test(lib))) return {};
  return { LD_PRELOAD: [...preload, jemalloc].join(':'), ...(env.MALLOC_CONF ? {} : { MALLOC_CONF: JEMALLOC_CONF }) };
}
