// The wasm memory guard: how much wasm heap a training step needs, and the batch size that fits.
// The wasm backend's heap cannot grow past 4 GiB; past it XNNPACK fails ("Got status 6") and
// emscripten aborts the whole process, so the trainer picks a batch size that fits beforehand.
import type { Arch } from '../../protocol/arch';
import type { BackendKind } from './index';

export type GuardedArch = Arch;

interface ArchMemory {
  /** Bytes independent of the batch: weights, gradients, AdamW moments, the wasm runtime. */
  fixed: number;
  /** Bytes per input pixel per image: activations kept for the backward pass, and their gradients. */
  perPixelImage: number;
  /** Body parameters (torchvision, without fc): frozen, they carry no gradient or AdamW moments. */
  bodyParams: number;
}

// Measured by bench/memory.ts (2026-11-28, tfjs-backend-wasm 4.22, threaded SIMD, 2 threads):
// the peak wasm heap of two Learner training steps (unfrozen, AdamW), fresh process per point, at
// 64 px × bs 2/8 and 128 px × bs 4/8. perPixelImage is the slope of the peak tensor bytes (the heap
// grows in coarse steps); fixed is the smallest intercept that keeps every measured heap under the
// line. resnet34 at 224 px gives 3.77 GB for bs 16; the spike measured 4.0 GB peak RSS there.
const ARCH_MEMORY: Record<GuardedArch, ArchMemory> = {
  resnet18: { fixed: 667_000_000, perPixelImage: 1873, bodyParams: 11_176_512 },
  resnet34: { fixed: 1_037_000_000, perPixelImage: 3404, bodyParams: 21_284_672 },
  resnet50: { fixed: 1_146_000_000, perPixelImage: 10_494, bodyParams: 23_508_032 },
};

/** The wasm heap's hard limit (a 32-bit address space). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30;
/** Default budget: headroom under the 4 GiB limit for what the fit does not model (lr_find's saved weights, fragmentation). */
export const DEFAULT_WASM_MEMORY_BUDGET_BYTES = 3.2e9;
/** Backends whose memory the guard limits; native TensorFlow has no 4 GiB heap. */
export const GUARDED_BACKENDS: readonly BackendKind[] = ['wasm', 'cpu'];

export interface TrainingMemoryQuery {
  arch: string;
  size: number;
  bs: number;
  /** Body frozen (fastai's freeze()): no gradients or AdamW moments for it. Default false. */
  frozen?: boolean;
}

export function isGuardedArch(arch: string): arch is GuardedArch {
  return Object.prototype.hasOwnProperty.call(ARCH_MEMORY, arch);
}

/** Peak wasm heap bytes of one training step (forward, backward, AdamW) at this batch and size. */
export function estimateTrainingBytes(q: TrainingMemoryQuery): number {
  if (!isGuardedArch(q.arch)) throw new Error(`No memory model for architecture '${q.arch}' (known: ${Object.keys(ARCH_MEMORY).join(', ')})`);
  const m = ARCH_MEMORY[q.arch];
  const frozenSaving = q.frozen ? 3 * 4 * m.bodyParams : 0;
  return Math.round(m.fixed - frozenSaving + m.perPixelImage * q.size * q.size * q.bs);
}

/** IMAGE_TRAINER_WASM_MEMORY_BUDGET (bytes) if set to a positive number, else the default. */
export function memoryBudgetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.IMAGE_TRAINER_WASM_MEMORY_BUDGET);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_WASM_MEMORY_BUDGET_BYTES;
}

export interface BatchSizeChoice {
  /** The batch size to train with: the requested one if it fits, else the largest power of 2 that does. */
  bs: number;
  requestedBs: number;
  /** Estimate at the requested bs, and at the chosen one. */
  requestedBytes: number;
  chosenBytes: number;
  budgetBytes: number;
  /** False when not even batch size 1 fits (bs is then 1). */
  fits: boolean;
}

/** The largest batch size ≤ the requested one whose estimate fits the budget (powers of 2 below it). */
export function chooseBatchSize(q: TrainingMemoryQuery, budgetBytes: number): BatchSizeChoice {
  const requestedBytes = estimateTrainingBytes(q);
  const base = { requestedBs: q.bs, requestedBytes, budgetBytes };
  if (requestedBytes <= budgetBytes) return { ...base, bs: q.bs, chosenBytes: requestedBytes, fits: true };
  let bs = 2 ** Math.floor(Math.log2(Math.max(1, q.bs - 1)));
  while (bs > 1 && estimateTrainingBytes({ ...q, bs }) > budgetBytes) bs /= 2;
  const chosenBytes = estimateTrainingBytes({ ...q, bs });
  return { ...base, bs, chosenBytes, fits: chosenBytes <= budgetBytes };
}

/** "9.6 GB" */
export function formatGB(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}
