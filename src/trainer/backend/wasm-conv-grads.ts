// Training kernels for the wasm backend, built from kernels it has (XNNPACK convs, matmuls):
// - Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks (a conv net cannot train without it):
//   dW = transpose(conv2d(xᵀ, dyᵀ, stride 1, dilation = forward stride, forward pads)); 1×1
//   unpadded convs are one matmul dW = xsᵀ·dy.
// - Conv2DBackpropInput, replacing wasm's naive C++ loop (~9× slower than the forward conv): a
//   forward conv of the zero-inserted dy with the flipped, in/out-swapped filter.
// Verified against the cpu backend in test/unit/backend-conv-grads.test.ts.
import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, Info>; backend: any; attrs: Record<string, unknown> }) => Info;

let registered = false;
let stockBackpropInput: tf.KernelConfig | undefined;

function wasmKernel(name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend lacks the ${name} kernel`);
  return k.kernelFunc as unknown as KernelFn;
}

/** Tracks intermediate tensors of one kernel call and frees all but the result. */
class Scratch {
  private readonly made: Info[] = [];
  constructor(private readonly backend: any) {}
  keep(t: Info): Info {
    this.made.push(t);
    return t;
  }
  done(out: Info): Info {
    for (const t of this.made) if (t !== out) this.backend.disposeData(t.dataId);
    return out;
  }
}

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const transpose = wasmKernel('Transpose');
  const conv2d = wasmKernel('Conv2D');
  const slice = wasmKernel('Slice');
  const reshape = wasmKernel('Reshape');
  const batchMatMul = wasmKernel('BatchMatMul');
  const maxPool = wasmKernel('MaxPool');
  const padV2 = wasmKernel('PadV2');

  const ops = (backend: any, s: Scratch) => ({
    reshape: (x: Info, shape: number[]) => s.keep(reshape({ inputs: { x }, backend, attrs: { shape } })),
    // matMul's transpose flags are a slow path on wasm: transposes are explicit.
    transpose: (x: Info, perm: number[]) => s.keep(transpose({ inputs: { x }, backend, attrs: { perm } })),
    matMul: (a: Info, b: Info) => s.keep(batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } })),
    slice: (x: Info, begin: number[], size: number[]) => s.keep(slice({ inputs: { x }, backend, attrs: { begin, size } })),
    pad: (x: Info, paddings: number[][]) => s.keep(padV2({ inputs: { x }, backend, attrs: { paddings, constantValue: 0 } })),
    // A 1×1 max-pool subsamples exactly (StridedSlice is a slow generic loop on wasm).
    subsample: (x: Info, sH: number, sW: number) =>
      s.keep(maxPool({ inputs: { x }, backend, attrs: { filterSize: [1, 1], strides: [sH, sW], pad: 'valid', dimRoundingMode: undefined } })),
    conv: (x: Info, filter: Info, dilations: [number, number], pad: number[][], dimRoundingMode: unknown) =>
      s.keep(conv2d({ inputs: { x, filter }, backend, attrs: { strides: [1, 1], dilations, pad, dataFormat: 'NHWC', dimRoundingMode } })),
  });

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
    // [N,OH,OW,C] → [N,OH·sH,OW·sW,C] with the values at (i·sH, j·sW)
    const zeroInsert = (t: Info, C: number) =>
      sH === 1 && sW === 1
        ? t
        : o.reshape(o.pad(o.reshape(t, [N, OH, 1, OW, 1, C]), [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]]), [N, OH * sH, OW * sW, C]);
    // crop or zero-pad bottom/right to exactly H×W
    const fit = (t: Info) => {
      const [, h, w, c] = t.shape;
      if (h === H && w === W) return t;
      const cropped = h > H || w > W ? o.slice(t, [0, 0, 0, 0], [N, Math.min(h, H), Math.min(w, W), c]) : t;
      if (cropped.shape[1] === H && cropped.shape[2] === W) return cropped;
      return o.pad(cropped, [[0, 0], [0, H - cropped.shape[1]], [0, W - cropped.shape[2]], [0, 0]]);
    };
    if (KH === 1 && KW === 1 && top === 0 && left === 0) {
      const a = o.reshape(dy, [1, N * OH * OW, Cout]);
      const bT = o.transpose(o.reshape(filter, [1, Cin, Cout]), [0, 2, 1]);
      const m = o.reshape(o.matMul(a, bT), [N, OH, OW, Cin]);
      return s.done(fit(zeroInsert(m, Cin)));
    }
    // The spatial 180° flip reverses the KH·KW rows of filter.reshape([KH·KW, Cin·Cout]); done as a
    // matmul with a permutation matrix (exact; wasm's Reverse and Gather are naive and ~20× slower).
    const KK = KH * KW;
    const perm = s.keep(backend.makeOutput([1, KK, KK], 'float32'));
    const pv = backend.typedArrayFromHeap(perm) as Float32Array;
    pv.fill(0);
    for (let i = 0; i < KK; i++) pv[i * KK + (KK - 1 - i)] = 1;
    const flipped = o.reshape(o.matMul(perm, o.reshape(filter, [1, KK, Cin * Cout])), [KH, KW, Cin, Cout]);
    const wFlip = o.transpose(flipped, [0, 1, 3, 2]); // [KH, KW, Cout, Cin]
    let u = zeroInsert(dy, Cout);
    let pB = H - u.shape[1] - pT + KH - 1;
    let pR = W - u.shape[2] - pL + KW - 1;
    if (pB < 0 || pR < 0) {
      u = o.slice(u, [0, 0, 0, 0], [N, u.shape[1] + Math.min(pB, 0), u.shape[2] + Math.min(pR, 0), Cout]);
      pB = Math.max(pB, 0);
      pR = Math.max(pR, 0);
    }
    const dx = o.conv(u, wFlip, [1, 1], [[0, 0], [pT, pB], [pL, pR], [0, 0]], dimRoundingMode);
    return s.done(fit(dx));
  };

  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: backpropFilter as any });
  if (stockBackpropInput) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: backpropInput as any });
}
