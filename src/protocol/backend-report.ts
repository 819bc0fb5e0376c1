// What `image-trainer doctor` and Show Backend Info report: the backend that runs, the libtorch
// behind it, the CPU/GPU it runs on, half-precision support, and for each faster backend that is
// not running, why not and the fix. One schema and one formatter for both.
import { z } from 'zod';
import { BackendInfo } from './events';
import { JEMALLOC_GAIN } from './trainer-launch';

export const BackendReport = z.object({
  running: BackendInfo,
  libtorch: z.object({
    version: z.string().optional(),
    source: z.string().optional(), // how native/install.js found it: LIBTORCH, python torch, debian
    lib: z.string().optional(), // the folder its shared libraries were linked from
    cuda: z.boolean(), // built with CUDA and a GPU visible
    device: z.string().optional(), // where tensors are placed: cpu, cuda
    threads: z.number().int().optional(),
    parallel: z.string().optional(),
  }).nullable(),
  libtorchError: z.string().optional(), // why the addon did not load, when libtorch is null
  cpu: z.object({ model: z.string().optional(), cores: z.number().int().optional(), bf16: z.boolean(), amx: z.boolean() }),
  gpu: z.object({ name: z.string(), capability: z.string().optional(), driver: z.string().optional() }).optional(),
  /** The trainer process's memory allocator: jemalloc where the machine has it, or why not. */
  allocator: z.object({ name: z.enum(['jemalloc', 'system']), path: z.string().optional(), why: z.string().optional(), fix: z.string().optional() }).optional(),
  /** Which mixed precision training modes the running backend does for real. */
  precision: z.object({ fp16: z.boolean(), bf16: z.boolean(), note: z.string() }),
  /** Backends faster than the one running that are not running, each with why and the fix. */
  faster: z.array(z.object({ kind: BackendInfo.shape.kind, why: z.string(), fix: z.string() })),
});
export type BackendReport = z.infer<typeof BackendReport>;

const yes = (b: boolean): string => (b ? 'yes' : 'no');

/** The report as lines for people (the doctor's output, the Show Backend Info log). */
export function formatBackendReport(r: BackendReport): string {
  const b = r.running;
  const lines = [`backend: ${b.name} (${b.kind}${b.threads ? `, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : ''})`];
  if (r.libtorch) {
    const l = r.libtorch;
    lines.push(`libtorch: ${l.version ?? 'unknown version'} from ${l.source ?? '?'} (${l.lib ?? '?'})`);
    lines.push(`  tensors on: ${l.device ?? '?'}; CUDA: ${yes(l.cuda)}; intra-op threads: ${l.threads ?? '?'}${l.parallel ? `; ${l.parallel}` : ''}`);
  } else {
    lines.push(`libtorch: not loaded (${r.libtorchError ?? 'unknown reason'})`);
  }
  lines.push(`cpu: ${r.cpu.model ?? 'unknown'}${r.cpu.cores ? `, ${r.cpu.cores} cores` : ''}; AVX512_BF16: ${yes(r.cpu.bf16)}; AMX: ${yes(r.cpu.amx)}`);
  lines.push(r.gpu ? `gpu: ${r.gpu.name}${r.gpu.capability ? `, compute capability ${r.gpu.capability}` : ''}${r.gpu.driver ? `, driver ${r.gpu.driver}` : ''}` : 'gpu: none visible (nvidia-smi found no NVIDIA GPU)');
  if (r.allocator) {
    const a = r.allocator;
    lines.push(`allocator: ${a.name}${a.path ? ` (${a.path})` : ''}${a.why ? ` (${a.why})` : ''}${a.fix ? `\n  fix: ${a.fix} (${JEMALLOC_GAIN})` : ''}`);
  }
  lines.push(`mixed precision: fp16 ${yes(r.precision.fp16)}, bf16 ${yes(r.precision.bf16)} (${r.precision.note})`);
  if (!r.faster.length) lines.push('faster backends: none (this is the fastest available here)');
  for (const f of r.faster) lines.push(`not running ${f.kind}: ${f.why}${f.fix ? `\n  fix: ${f.fix}` : ''}`);
  return lines.join('\n');
}
