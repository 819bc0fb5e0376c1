// What every torch kernel needs: the backend, handles of its inputs, and a way to register.
import * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from '../backend';

export const BACKEND_NAME = 'torch';

export type Inputs = tf.NamedTensorInfoMap;
export type Attrs = tf.NamedAttrMap;
export type KernelFn = (inputs: Inputs, b: TorchBackend, attrs: Attrs) => tf.TensorInfo | tf.TensorInfo[];

/** kernel name -> implementation, filled by each family module. */
export const KERNELS = new Map<string, KernelFn>();

export function kernel(name: string, fn: KernelFn): void {
  if (KERNELS.has(name)) throw new Error(`torch kernel ${name} defined twice`);
  KERNELS.set(name, fn);
}

export function registerAll(): void {
  for (const [kernelName, fn] of KERNELS) {
    if (tf.getKernel(kernelName, BACKEND_NAME)) continue;
    tf.registerKernel({
      kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: ({ inputs, backend, attrs }) => {
        for (const [name, t] of Object.entries(inputs)) {
          if (t && !tf.engine().state.tensorInfo.has(t.dataId) && !(backend as TorchBackend).holds(t.dataId)) {
            throw new Error(`torch backend: ${kernelName} got a disposed tensor as input '${name}'`);
          }
        }
        return fn(inputs, backend as TorchBackend, attrs ?? {});
      },
    });
  }
}

/** A tensor input by name (throws naming the kernel when absent). */
export function input(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`torch backend: missing input '${name}'`);
  return t;
}

/** A fused conv's or matmul's bias, activation, PReLU weights and leaky-ReLU alpha (all null when not fused). */
export function fusedArgs(b: TorchBackend, inputs: Inputs, attrs: Attrs, fused: boolean) {
  return {
    bias: fused && inputs.bias ? b.handle(inputs.bias) : null,
    prelu: fused && inputs.preluActivationWeights ? b.handle(inputs.preluActivationWeights) : null,
    act: fused ? ((attrs.activation as string) ?? 'linear') : null,
    alpha: fused ? ((attrs.leakyreluAlpha as number) ?? 0.2) : null,
  };
}

/** Same tensor, one more reference (what tfjs's cpu backend does for Identity/no-op casts). */
export function alias(b: TorchBackend, x: tf.TensorInfo): tf.TensorInfo {
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function axesOf(axis: number | number[] | undefined, shape: number[]): number[] {
  return tf.util.parseAxisParam(axis ?? [...shape.keys()], shape);
}
