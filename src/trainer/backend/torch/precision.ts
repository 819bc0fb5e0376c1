// Which half-precision training the running backend does for real (Show Backend Info, doctor,
// --fp16/--bf16). tfjs-core has no float16 dtype: only the torch backend can compute in half
// precision, inside its conv/matmul kernels, while tfjs keeps seeing float32 tensors.
import type { BackendKind } from '../index';

export interface PrecisionSupport {
  fp16: boolean;
  bf16: boolean;
  note: string;
}

/** Set when the addon computes conv/matmul in reduced precision (see setComputePrecision). */
export const TORCH_MIXED_PRECISION = false;

export function mixedPrecisionSupport(kind: BackendKind, cpuBf16: boolean, gpuCapability?: string): PrecisionSupport {
  if (!TORCH_MIXED_PRECISION || !kind.startsWith('torch')) {
    return { fp16: false, bf16: false, note: kind.startsWith('torch') ? 'not built yet in the torch addon: training runs in fp32' : 'tfjs tensors stay float32 on this backend: training runs in fp32' };
  }
  if (kind === 'torch-gpu') {
    const cap = Number(gpuCapability ?? 0);
    return { fp16: true, bf16: cap >= 8, note: cap >= 8 ? 'fp16 and bf16 convolutions/matmuls on the GPU' : 'bf16 needs compute capability 8.0 or newer' };
  }
  return { fp16: false, bf16: cpuBf16, note: cpuBf16 ? 'bf16 convolutions/matmuls on the CPU (AVX512_BF16); fp16 is GPU-only' : 'this CPU lacks AVX512_BF16; fp16 is GPU-only' };
}
