// Which half-precision training the running backend does for real (Show Backend Info, doctor,
// --fp16/--bf16), and the switch the mixed-precision callback turns. tfjs-core has no float16
// dtype: only the torch backend can compute in half precision, in its conv/matmul kernels, keeping
// the activations between them in it while tfjs sees float32 tensors (native/src/common.h).
import type { BackendKind } from '../index';
import type { BackendInfo, ComputePrecision } from '../../../protocol/events';
import { loadTorchAddon } from './addon';
import { onTorch } from './fused';

export interface PrecisionSupport {
  fp16: boolean;
  bf16: boolean;
  note: string;
}

/** Set because the addon computes conv/matmul in reduced precision (setComputePrecision). */
export const TORCH_MIXED_PRECISION = true;

// bf16 on a CPU without AVX512_BF16 is refused (training stays fp32, with a warning) rather than
// run: oneDNN then emulates bf16 with fp32 instructions plus conversions, or libtorch falls back to
// its reference conv, so --bf16 would make training slower than fp32, and speed is what a user
// asks --bf16 for. fp16 is refused on every CPU: libtorch 1.13 has no fp16 conv or matmul there.
export function mixedPrecisionSupport(kind: BackendKind, cpuBf16: boolean, gpuCapability?: string): PrecisionSupport {
  if (!TORCH_MIXED_PRECISION || !kind.startsWith('torch')) {
    return { fp16: false, bf16: false, note: kind.startsWith('torch') ? 'not built in this torch addon: training runs in fp32' : 'tfjs tensors stay float32 on this backend: training runs in fp32 (the torch backend has bf16/fp16)' };
  }
  if (kind === 'torch-gpu') {
    const cap = Number(gpuCapability ?? 0);
    return { fp16: true, bf16: cap >= 8, note: cap >= 8 ? 'fp16 and bf16 convolutions/matmuls on the GPU' : 'fp16 on the GPU; bf16 needs compute capability 8.0 or newer' };
  }
  return {
    fp16: false, bf16: cpuBf16,
    note: cpuBf16
      ? 'bf16 convolutions/matmuls on the CPU (AVX512_BF16); fp16 needs a CUDA GPU (libtorch has no fp16 convolution on the CPU)'
      : 'this CPU lacks AVX512_BF16 (bf16 would be emulated, slower than fp32); fp16 needs a CUDA GPU',
  };
}

/** Why `mode` cannot run on this backend (training then stays fp32), or null when it can. */
export function mixedPrecisionRefusal(info: BackendInfo, mode: 'fp16' | 'bf16'): string | null {
  if (mode === 'fp16' ? info.fp16 : info.bf16) return null;
  if (!info.kind.startsWith('torch')) return `${mode} not supported on ${info.name}; training stays fp32 (tfjs tensors are float32 here; the torch backend has bf16/fp16)`;
  if (mode === 'fp16' && info.kind === 'torch-cpu') return 'fp16 not supported on the CPU (libtorch has no fp16 convolution there); training stays fp32. Fix: use --bf16 (learn.toBf16()) on the CPU, or fp16 on a CUDA GPU';
  if (info.kind === 'torch-cpu') return 'bf16 not supported on this CPU: it lacks AVX512_BF16, so bf16 would be emulated and slower than fp32; training stays fp32';
  return `${mode} not supported on this GPU (bf16 needs compute capability 8.0 or newer); training stays fp32`;
}

/**
 * Sets what the torch conv/matmul kernels compute in; returns the precision now in force, or
 * null when torch is not the running backend (nothing to set: other backends are always fp32).
 */
export function setTorchComputePrecision(p: ComputePrecision): ComputePrecision | null {
  const addon = onTorch() ? loadTorchAddon() : null;
  return addon ? (addon.setComputePrecision(p) as ComputePrecision) : null;
}

/** What the torch kernels compute in now ('fp32' off torch). */
export function torchComputePrecision(): ComputePrecision {
  const addon = onTorch() ? loadTorchAddon() : null;
  return addon ? (addon.computePrecision() as ComputePrecision) : 'fp32';
}
