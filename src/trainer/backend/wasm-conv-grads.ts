// Training kernels for the wasm backend, built from kernels it has (XNNPACK convs, matmuls):
// - Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks (a conv net cannot train without it):
//   dW = transpose(conv2d(xᵀ, dyᵀ, stride 1, dilation = forward stride, forward pads)); 1×1
//   unpadded convs are one matmul dW = xsᵀ·dy.
// - Conv2DBackpropInput, replacing wasm's naive C++ loop (~9× slower than the forward conv): a
//   forward conv of the zero-inserted dy with the flipped, in/out-swapped filter.
// Verified against the cpu backend in test/unit/backend-conv-grads.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { Scratch, wasmOps, type KernelFn } from './wasm-kernel-ops';
import { registerWasmDepthwiseGrads } from './wasm-depthwise-grads';

let registered = false;
let stockBackpropInput: tf.KernelConfig | undefined;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const ops = wasmOps();
  const backpropFilter: KernelFn = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as any;
    if (dataFormat && dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
    const ci = tf.backend_util.computeConv2DInfo(x.shape as any, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [N, H, W, Cin] = x.shape;
    const [, OH, OW, Cout] = dy.shape;
    const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = ci;
    const { top, bottom, left, right } = ci.padInfo;
    const s = new Scratch(backend);
    const o = ops(backend, s);
    if (KH === 1 && KW === 1 && top === 0 && left === 0) {
      const strided = sH !== 1 || sW !== 1 || OH * sH !== H || OW * sW !== W;
      const xs = strided ? o.subsample(x, sH, sW) : x;
      const a = o.transpose(o.reshape(xs, [1, N * OH * OW, Cin]), [0, 2, 1]);
      const m = o.matMul(a, o.reshape(dy, [1, N * OH * OW, Cout]));
      return s.done(o.reshape(m, [1, 1, Cin, Cout]));
    }
    const xT = o.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
    const dyT = o.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Cout]
    let r = o.conv(xT, dyT, [sH, sW], [[0, 0], [top, bottom], [left, right], [0, 0]], dimRoundingMode); // [Cin, ≥KH, ≥KW, Cout]
    if (r.shape[1] !== KH || r.shape[2] !== KW) r = o.slice(r, [0, 0, 0, 0], [Cin, KH, KW, Cout]);
    return s.done(o.transpose(r, [1, 2, 0, 3]));
  };

  stockBackpropInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const backpropInput: KernelFn = (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as any;
    if (dataFormat && dataFormat !== 'NHWC') throw new Error('Conv2DBackpropInput (wasm): only NHWC is supported');
    const ci = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as any, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [N, H, W, Cin] = inputShape as number[];
    const [, OH, OW, Cout] = dy.shape;
    const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = ci;
    const { top, left } = ci.padInfo;
    const pT = KH - 1 - top;
    const pL = KW - 1 - left;
    if (pT < 0 || pL < 0) return (stockBackpropInput!.kernelFunc as unknown as KernelFn)(args); // pad > K−1: rare
    const s = new Scratch(backend);
    const o = ops(backend, s);
    if (KH === 1 && KW === 1 && top === 0 && left === 0) {
      const a = o.reshape(dy, [1, N * OH * OW, Cout]);
      const bT = o.transpose(o.reshape(filter, [1, Cin, Cout]), [0, 2, 1]);
      const m = o.reshape(o.matMul(a, bT), [N, OH, OW, Cin]);
      return s.done(o.fit(o.zeroInsert(m, sH, sW), H, W));
    }
    const wFlip = o.transpose(o.flip(filter), [0, 1, 3, 2]); // [KH, KW, Cout, Cin]
    const { u, pad: uPad } = o.dilateForInputGrad(dy, sH, sW, H, W, KH, KW, pT, pL);
    const dx = o.conv(u, wFlip, [1, 1], uPad, dimRoundingMode);
    return s.done(o.fit(dx, H, W));
  };

  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: backpropFilter as any });
  if (stockBackpropInput) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: backpropInput as any });
  registerWasmDepthwiseGrads(ops);
}
