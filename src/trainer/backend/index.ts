// Picks and starts the TensorFlow.js backend: torch on CUDA, tfjs-node-gpu, torch on CPU, tfjs-node,
// threaded SIMD wasm, then the pure-JS cpu backend. Everything in the trainer uses this module's `tf` (one tfjs-core instance).
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build registers no gradients (its register_all_gradients is ESM-only);
// the union package's Node bundle registers them on this same tfjs-core instance.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendInfo } from '../../protocol/events';
import { ActionableError } from '../errors';
import { enableThreadedWasm } from './wasm-threads';
import { registerWasmTrainingKernels } from './wasm-conv-grads';
import { patchBatchNormGradient } from './batchnorm-grad';
import { freeSavedTensorsDuringBackward } from './free-saved';
import { libtorchBuildInfo, loadTorchAddon, mixedPrecisionSupport, registerTorchBackend, torchLoadError, TORCH_FIX } from './torch';
import { cpuFeatures, nvidiaGpu } from './host';
import { processAllocator, type AllocatorInfo } from './allocator';
import { JEMALLOC_GAIN } from '../../protocol/trainer-launch';

export { tf };

export type BackendKind = BackendInfo['kind'];
export const BACKEND_KINDS: readonly BackendKind[] = ['torch-gpu', 'native-gpu', 'torch-cpu', 'native-cpu', 'wasm', 'cpu'];

/** Names users may pass to --backend, besides the kinds themselves. */
const ALIASES: Record<string, BackendKind> = {
  gpu: 'native-gpu',
  'tensorflow-gpu': 'native-gpu',
  'tfjs-node-gpu': 'native-gpu',
  native: 'native-cpu',
  tensorflow: 'native-cpu',
  'tfjs-node': 'native-cpu',
  node: 'native-cpu',
  libtorch: 'torch-cpu',
  pytorch: 'torch-cpu',
  cuda: 'torch-gpu',
};

export interface SelectBackendOptions {
  /** Force one backend ('native-gpu', 'native-cpu', 'wasm', 'cpu', or an alias like 'gpu'). */
  prefer?: string;
  /** torch/wasm thread count; default: the number of CPU cores (IMAGE_TRAINER_WASM_THREADS overrides for wasm). */
  threads?: number;
}

export class BackendUnavailableError extends ActionableError {
  constructor(message: string, fix: string) {
    super(message, { fix });
    this.name = 'BackendUnavailableError';
  }
}

/** How to get each backend where it is missing: one table for errors and the doctor's report. */
export const BACKEND_FIXES: Record<BackendKind, string> = {
  'torch-gpu': 'LIBTORCH=/path/to/libtorch-cuda npm rebuild image-trainer (a CUDA build of libtorch from pytorch.org, or pip install torch with CUDA)',
  'native-gpu': 'npm install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 / cuDNN 8.1; not built for current GPUs)',
  'torch-cpu': TORCH_FIX,
  'native-cpu': 'npm install @tensorflow/tfjs-node',
  wasm: 'npm ci (restores @tensorflow/tfjs-backend-wasm)',
  cpu: '',
};

let active: Promise<BackendInfo> | null = null;
let activeInfo: BackendInfo | null = null;

export function resolveBackendName(name: string): BackendKind {
  const key = name.trim().toLowerCase();
  // `torch` means the libtorch backend on whatever device its build supports.
  if (key === 'torch') return loadTorchAddon()?.about().cuda ? 'torch-gpu' : 'torch-cpu';
  if ((BACKEND_KINDS as readonly string[]).includes(key)) return key as BackendKind;
  const alias = ALIASES[key];
  if (!alias) {
    throw new BackendUnavailableError(
      `Unknown backend '${name}'`,
      `use one of ${BACKEND_KINDS.join(', ')} (or torch, gpu, tensorflow); \`image-trainer doctor\` lists those present`,
    );
  }
  return alias;
}

/**
 * Starts the best backend present (or the one asked for) and returns what it is. Idempotent: a
 * second call returns the active backend; asking for a different one after that is an error.
 */
export function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  const wanted = opts.prefer ? resolveBackendName(opts.prefer) : null;
  if (active) {
    return active.then((info) => {
      if (wanted && info.kind !== wanted) {
        throw new BackendUnavailableError(
          `The ${info.kind} backend is already active in this process; cannot switch to ${wanted}`,
          'start a new process to use another backend (run the CLI again, or Restart Trainer in VS Code)',
        );
      }
      return info;
    });
  }
  freeSavedTensorsDuringBackward();
  active = start(wanted, opts).then((info) => (activeInfo = info));
  active.catch(() => (active = null));
  return active;
}

/** The backend started by selectBackend, or null before that. */
export function activeBackend(): BackendInfo | null {
  return activeInfo;
}

async function start(wanted: BackendKind | null, opts: SelectBackendOptions): Promise<BackendInfo> {
  const skipped: string[] = [];
  for (const kind of wanted ? [wanted] : BACKEND_KINDS) {
    try {
      const info = await STARTERS[kind](opts);
      if (skipped.length) info.reason = skipped.join('; ');
      if (!kind.startsWith('torch') && !loadTorchAddon()) noteTorchMissingOnce(kind);
      return info;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (wanted) throw new BackendUnavailableError(`The ${kind} backend is not available: ${why}`, BACKEND_FIXES[kind] || 'choose another backend (`image-trainer doctor` lists those present)');
      skipped.push(`${kind}: ${why}`);
    }
  }
  throw new BackendUnavailableError(`No TensorFlow.js backend could start (${skipped.join('; ')})`, `${BACKEND_FIXES['torch-cpu']}; or ${BACKEND_FIXES.wasm}`);
}

// tfjs-core 4.22 has no float16 dtype on any backend: only torch computes in half precision,
// inside its own kernels (torch/precision.ts).
const FP16 = false;

/** When the fast backend is not built, say so once per process, with the command that builds it. */
let torchNoteShown = false;
function noteTorchMissingOnce(running: BackendKind): void {
  if (torchNoteShown || process.env.IMAGE_TRAINER_QUIET_BACKEND) return;
  torchNoteShown = true;
  process.stderr.write(`image-trainer: running on the ${running} backend; the torch backend (libtorch, PyTorch speed) is not available: ${torchLoadError()}. Fix: ${TORCH_FIX}.\n`);
}

/** When torch runs on the system allocator for want of jemalloc, say so once, with the fix. */
let allocatorNoteShown = false;
function noteSystemAllocatorOnce(allocator: AllocatorInfo): void {
  if (allocatorNoteShown || !allocator.fix || process.env.IMAGE_TRAINER_QUIET_BACKEND) return;
  allocatorNoteShown = true;
  process.stderr.write(`image-trainer: the torch backend runs on the system allocator (${allocator.why}); ${JEMALLOC_GAIN}. Fix: ${allocator.fix}.\n`);
}

async function startTorch(device: 'cuda' | 'cpu', opts: SelectBackendOptions): Promise<BackendInfo> {
  const addon = loadTorchAddon();
  if (!addon) throw new Error(`${torchLoadError()}; fix: ${TORCH_FIX}`);
  if (device === 'cuda' && !addon.about().cuda) {
    throw new Error('the libtorch it was built against has no CUDA (or no GPU is visible); fix: LIBTORCH=<a CUDA libtorch from pytorch.org> npm rebuild');
  }
  const reg = registerTorchBackend({ device, threads: opts.threads });
  if (!reg) throw new Error(String(torchLoadError()));
  await activate('torch');
  patchBatchNormGradient();
  const built = libtorchBuildInfo();
  const libtorch = built?.version ? `libtorch ${built.version} (${built.source}: ${built.lib})` : undefined;
  const kind = device === 'cuda' ? 'torch-gpu' : 'torch-cpu';
  const precision = mixedPrecisionSupport(kind, device === 'cpu' && cpuFeatures().bf16, device === 'cuda' ? nvidiaGpu()?.capability : undefined);
  const allocator = processAllocator();
  noteSystemAllocatorOnce(allocator);
  return {
    name: 'torch', kind, threads: reg.threads, fp16: precision.fp16, bf16: precision.bf16, allocator: allocator.name,
    ...(device === 'cuda' ? { device: 'cuda' } : {}), ...(libtorch ? { libtorch } : {}),
  };
}

const STARTERS: Record<BackendKind, (opts: SelectBackendOptions) => Promise<BackendInfo>> = {
  'torch-gpu': (opts) => startTorch('cuda', opts),
  'torch-cpu': (opts) => startTorch('cpu', opts),
  'native-gpu': async () => {
    requireOptional('@tensorflow/tfjs-node-gpu');
    await activate('tensorflow');
    const device = nativeGpuName();
    if (!device) throw new Error('@tensorflow/tfjs-node-gpu loaded but TensorFlow found no CUDA GPU');
    patchBatchNormGradient();
    return { name: 'tensorflow', kind: 'native-gpu', device, fp16: FP16 };
  },
  'native-cpu': async () => {
    requireOptional('@tensorflow/tfjs-node');
    await activate('tensorflow');
    patchBatchNormGradient();
    return { name: 'tensorflow', kind: 'native-cpu', threads: os.availableParallelism(), fp16: FP16 };
  },
  wasm: async (opts) => {
    const threads = opts.threads ?? (Number(process.env.IMAGE_TRAINER_WASM_THREADS) || os.availableParallelism());
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    // The threaded build is the SIMD one; without SIMD tfjs falls back to the single-threaded build.
    const patch = threads > 1 && simd ? enableThreadedWasm(threads) : null;
    // Emscripten unrefs its workers as they load: without a handle of our own, Node could exit
    // in the middle of initialisation.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await activate('wasm');
      patch?.unrefWorkers();
    } finally {
      clearInterval(keepAlive);
      patch?.restoreCpus();
    }
    registerWasmTrainingKernels();
    patchBatchNormGradient();
    return { name: 'wasm', kind: 'wasm', threads: wasm.getThreadsCount(), simd: Boolean(simd), fp16: FP16 };
  },
  cpu: async () => {
    await activate('cpu');
    silenceCpuBackendBanner();
    patchBatchNormGradient();
    return { name: 'cpu', kind: 'cpu', threads: 1, fp16: FP16 };
  },
};

/** The cpu backend prints a "use tfjs-node" banner on first use; we already report the choice. */
export function silenceCpuBackendBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

function requireOptional(pkg: string): void {
  try {
    require(pkg);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'MODULE_NOT_FOUND' ? `${pkg} is not installed` : `${pkg} failed to load: ${(err as Error).message}`);
  }
}

async function activate(name: string): Promise<void> {
  if (!tf.findBackendFactory(name)) throw new Error(`no '${name}' backend is registered`);
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`the '${name}' backend failed to initialise`);
}

function nativeGpuName(): string | undefined {
  // tfjs-node-gpu does not expose the device; TensorFlow logs it, and nvidia-smi knows it.
  try {
    const { execFileSync } = require('child_process') as typeof import('child_process');
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000 });
    return out.split('\n')[0].trim() || undefined;
  } catch {
    return undefined;
  }
}
export * from './memory';
export { onTorch, torchBatchNormTrain, torchCrossEntropyPerItem, torchAdamW, type AdamWItem, type BatchNormPost } from './torch/fused';
export { releaseHostCopies } from './host-copies';
export { setTorchComputePrecision, torchComputePrecision, mixedPrecisionRefusal } from './torch/precision';
