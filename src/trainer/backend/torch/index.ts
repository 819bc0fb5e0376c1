// Registers the `torch` backend (tfjs kernels on libtorch through the N-API addon in native/).
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { loadTorchAddon, torchLoadError, type TorchAbout } from './addon';
import { TorchBackend } from './backend';
import { BACKEND_NAME, KERNELS, registerAll } from './kernels/util';
import { patchReluGradient } from './fused';
import './kernels/elementwise';
import './kernels/reduce';
import './kernels/shape';
import './kernels/conv';
import './kernels/nn';
import './kernels/fused';

export { BACKEND_NAME as TORCH_BACKEND, TorchBackend };
export * from './addon';
export * from './fused';
export * from './precision';

export interface TorchRegistration {
  device: 'cuda' | 'cpu';
  threads: number;
  about: TorchAbout;
}

/**
 * Registers the backend when the addon loads (idempotent); null with torchLoadError() otherwise.
 * `threads`: ATen intra-op threads (default: the cores).
 */
export function registerTorchBackend(opts: { threads?: number; device?: 'cuda' | 'cpu' } = {}): TorchRegistration | null {
  const addon = loadTorchAddon();
  if (!addon) return null;
  const cuda = addon.about().cuda;
  const device = opts.device ?? (cuda ? 'cuda' : 'cpu');
  if (device === 'cuda' && !cuda) throw new Error('this libtorch was built without CUDA (or found no GPU)');
  addon.useDevice(device);
  const threads = addon.setThreads(opts.threads ?? os.availableParallelism());
  if (!tf.findBackendFactory(BACKEND_NAME)) {
    registerAll();
    patchReluGradient();
    tf.registerBackend(BACKEND_NAME, () => new TorchBackend(addon, device), 0);
  }
  return { device, threads, about: addon.about() };
}

/** Kernel names this backend implements (for the coverage test and doctor). */
export function torchKernelNames(): string[] {
  return [...KERNELS.keys()].sort();
}

export { torchLoadError };
