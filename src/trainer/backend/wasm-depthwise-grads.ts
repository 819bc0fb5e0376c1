// Depthwise-conv training kernels for wasm (tfjs-backend-wasm 4.22 has neither), from kernels it has:
// - filter: per tap (kh, kw), dW[kh,kw,c,m] = Σ_{n,i,j} x_pad[n, i·s+kh, j·s+kw, c] · dy[n,i,j,c·cm+m];
// - input: dx = Σ_m depthwise(zero-inserted dy_m, 180°-rotated filter_m), dy_m = channels c·cm+m.
// Dilated depthwise convs are not supported (an error says so). Verified against the cpu backend
// in test/unit/backend-conv-grads.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { Scratch, type Info, type KernelFn, type WasmOps } from './wasm-kernel-ops';

function convInfo(xShape: number[], filterShape: number[], attrs: any, kernel: string) {
  const { strides, pad, dilations, dimRoundingMode, dataFormat } = attrs;
  if (dataFormat && dataFormat !== 'NHWC') throw new Error(`${kernel} (wasm): only NHWC is supported`);
  const d = dilations ?? 1;
  if ((Array.isArray(d) ? d : [d, d]).some((v: number) => v !== 1)) throw new Error(`${kernel} (wasm): dilated depthwise convolutions are not supported`);
  return tf.backend_util.computeConv2DInfo(xShape as any, filterShape as any, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
}

export function registerWasmDepthwiseGrads(ops: WasmOps): void {
  const backpropFilter: KernelFn = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const filterShape = (attrs as any).filterShape as number[];
    const ci = convInfo(x.shape, filterShape, attrs, 'DepthwiseConv2dNativeBackpropFilter');
    const [N, , , C] = x.shape;
    const [, OH, OW] = dy.shape;
    const [KH, KW, , CM] = filterShape;
    const { strideHeight: sH, strideWidth: sW } = ci;
    const { top, bottom, left, right } = ci.padInfo;
    const s = new Scratch(backend);
    const o = ops(backend, s);
    const xp = top || bottom || left || right ? o.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const M = N * OH * OW;
    const dy3 = o.reshape(dy, [M, C, CM]);
    const taps: Info[] = [];
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        let xs = o.slice(xp, [0, kh, kw, 0], [N, (OH - 1) * sH + 1, (OW - 1) * sW + 1, C]);
        if (sH !== 1 || sW !== 1) xs = o.subsample(xs, sH, sW);
        taps.push(o.sum(o.mul(o.reshape(xs, [M, C, 1]), dy3), [0])); // [C, CM]
      }
    }
    return s.done(o.reshape(o.concat(taps, 0), [KH, KW, C, CM]));
  };

  const backpropInput: KernelFn = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const inputShape = (attrs as any).inputShape as number[];
    const ci = convInfo(inputShape, filter.shape, attrs, 'DepthwiseConv2dNativeBackpropInput');
    const [N, H, W, C] = inputShape;
    const [KH, KW, , CM] = filter.shape;
    const { strideHeight: sH, strideWidth: sW } = ci;
    const { top, left } = ci.padInfo;
    const pT = KH - 1 - top;
    const pL = KW - 1 - left;
    if (pT < 0 || pL < 0) throw new Error('DepthwiseConv2dNativeBackpropInput (wasm): padding larger than the filter is not supported');
    const s = new Scratch(backend);
    const o = ops(backend, s);
    const flipped = o.flip(filter); // [KH, KW, C, CM]
    const dy5 = CM > 1 ? o.reshape(dy, [N, dy.shape[1], dy.shape[2], C, CM]) : dy;
    let dx: Info | null = null;
    for (let m = 0; m < CM; m++) {
      const dyM = CM > 1 ? o.reshape(o.slice(dy5, [0, 0, 0, 0, m], [N, dy.shape[1], dy.shape[2], C, 1]), [N, dy.shape[1], dy.shape[2], C]) : dy;
      const fM = CM > 1 ? o.slice(flipped, [0, 0, 0, m], [KH, KW, C, 1]) : flipped;
      const { u, pad } = o.dilateForInputGrad(dyM, sH, sW, H, W, KH, KW, pT, pL);
      const part = o.fit(o.depthwise(u, fM, pad, (attrs as any).dimRoundingMode), H, W);
      dx = dx ? o.add(dx, part) : part;
    }
    return s.done(dx!);
  };

  for (const [kernelName, kernelFunc] of [
    ['DepthwiseConv2dNativeBackpropFilter', backpropFilter],
    ['DepthwiseConv2dNativeBackpropInput', backpropInput],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as any });
  }
}
