// Kernel-level building blocks for composite wasm kernels: each op calls one wasm kernel directly
// and records its output in a Scratch, which frees every intermediate except the result.
import * as tf from '@tensorflow/tfjs-core';

export type Info = tf.TensorInfo;
export type KernelFn = (args: { inputs: Record<string, Info>; backend: any; attrs: Record<string, unknown> }) => Info;

export function wasmKernel(name: string): KernelFn {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`the wasm backend lacks the ${name} kernel`);
  return k.kernelFunc as unknown as KernelFn;
}

export class Scratch {
  private readonly made: Info[] = [];
  constructor(readonly backend: any) {}
  keep(t: Info): Info {
    this.made.push(t);
    return t;
  }
  done(out: Info): Info {
    for (const t of this.made) if (t !== out) this.backend.disposeData(t.dataId);
    return out;
  }
}

export type WasmOps = ReturnType<typeof wasmOps>;

/** Binds the wasm kernels once; call the result with (backend, scratch) inside a kernel. */
export function wasmOps() {
  const k = {
    transpose: wasmKernel('Transpose'),
    conv2d: wasmKernel('Conv2D'),
    depthwise: wasmKernel('DepthwiseConv2dNative'),
    slice: wasmKernel('Slice'),
    reshape: wasmKernel('Reshape'),
    batchMatMul: wasmKernel('BatchMatMul'),
    maxPool: wasmKernel('MaxPool'),
    padV2: wasmKernel('PadV2'),
    multiply: wasmKernel('Multiply'),
    add: wasmKernel('Add'),
    sum: wasmKernel('Sum'),
    concat: wasmKernel('Concat'),
  };
  return (backend: any, s: Scratch) => ({
    reshape: (x: Info, shape: number[]) => s.keep(k.reshape({ inputs: { x }, backend, attrs: { shape } })),
    // matMul's transpose flags are a slow path on wasm: transposes are explicit.
    transpose: (x: Info, perm: number[]) => s.keep(k.transpose({ inputs: { x }, backend, attrs: { perm } })),
    matMul: (a: Info, b: Info) => s.keep(k.batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } })),
    slice: (x: Info, begin: number[], size: number[]) => s.keep(k.slice({ inputs: { x }, backend, attrs: { begin, size } })),
    pad: (x: Info, paddings: number[][]) => s.keep(k.padV2({ inputs: { x }, backend, attrs: { paddings, constantValue: 0 } })),
    // A 1×1 max-pool subsamples exactly (StridedSlice is a slow generic loop on wasm).
    subsample: (x: Info, sH: number, sW: number) =>
      s.keep(k.maxPool({ inputs: { x }, backend, attrs: { filterSize: [1, 1], strides: [sH, sW], pad: 'valid', dimRoundingMode: undefined } })),
    conv: (x: Info, filter: Info, dilations: [number, number], pad: number[][], dimRoundingMode: unknown) =>
      s.keep(k.conv2d({ inputs: { x, filter }, backend, attrs: { strides: [1, 1], dilations, pad, dataFormat: 'NHWC', dimRoundingMode } })),
    depthwise: (x: Info, filter: Info, pad: number[][], dimRoundingMode: unknown) =>
      s.keep(k.depthwise({ inputs: { x, filter }, backend, attrs: { strides: [1, 1], dilations: [1, 1], pad, dataFormat: 'NHWC', dimRoundingMode } })),
    mul: (a: Info, b: Info) => s.keep(k.multiply({ inputs: { a, b }, backend, attrs: {} })),
    add: (a: Info, b: Info) => s.keep(k.add({ inputs: { a, b }, backend, attrs: {} })),
    sum: (x: Info, axis: number[]) => s.keep(k.sum({ inputs: { x }, backend, attrs: { axis, keepDims: false } })),
    concat: (xs: Info[], axis: number) => (xs.length === 1 ? xs[0] : s.keep(k.concat({ inputs: xs as any, backend, attrs: { axis } }))),
    /** [N,OH,OW,C] → [N,OH·sH,OW·sW,C] with the values at (i·sH, j·sW), zeros elsewhere. */
    zeroInsert(t: Info, sH: number, sW: number): Info {
      if (sH === 1 && sW === 1) return t;
      const [N, OH, OW, C] = t.shape;
      const r6 = this.reshape(t, [N, OH, 1, OW, 1, C]);
      const p6 = this.pad(r6, [[0, 0], [0, 0], [0, sH - 1], [0, 0], [0, sW - 1], [0, 0]]);
      return this.reshape(p6, [N, OH * sH, OW * sW, C]);
    },
    /**
     * The input gradient of a strided conv as a stride-1 conv: dy zero-inserted by the stride, cropped
     * where the forward pass never reached, and the paddings (pT/pL = K−1−forward pad) that make a
     * correlation with the flipped filter give (at least) the H×W input.
     */
    dilateForInputGrad(dy: Info, sH: number, sW: number, H: number, W: number, KH: number, KW: number, pT: number, pL: number): { u: Info; pad: number[][] } {
      let u = this.zeroInsert(dy, sH, sW);
      let pB = H - u.shape[1] - pT + KH - 1;
      let pR = W - u.shape[2] - pL + KW - 1;
      if (pB < 0 || pR < 0) {
        const [N, h, w, C] = u.shape;
        u = this.slice(u, [0, 0, 0, 0], [N, h + Math.min(pB, 0), w + Math.min(pR, 0), C]);
        pB = Math.max(pB, 0);
        pR = Math.max(pR, 0);
      }
      return { u, pad: [[0, 0], [pT, pB], [pL, pR], [0, 0]] };
    },
    /** Crop or zero-pad bottom/right so that the spatial size is exactly H×W. */
    fit(t: Info, H: number, W: number): Info {
      const [N, h, w, c] = t.shape;
      if (h === H && w === W) return t;
      const cropped = h > H || w > W ? this.slice(t, [0, 0, 0, 0], [N, Math.min(h, H), Math.min(w, W), c]) : t;
      if (cropped.shape[1] === H && cropped.shape[2] === W) return cropped;
      return this.pad(cropped, [[0, 0], [0, H - cropped.shape[1]], [0, W - cropped.shape[2]], [0, 0]]);
    },
    /**
     * Filter [KH,KW,A,B] rotated 180° spatially: reverses the KH·KW rows of a [KH·KW, A·B] view,
     * done as a matmul with a permutation matrix (exact; wasm's Reverse and Gather are ~20× slower).
     */
    flip(filter: Info): Info {
      const [KH, KW, A, B] = filter.shape;
      const KK = KH * KW;
      const perm = s.keep(backend.makeOutput([1, KK, KK], 'float32'));
      const pv = backend.typedArrayFromHeap(perm) as Float32Array;
      pv.fill(0);
      for (let i = 0; i < KK; i++) pv[i * KK + (KK - 1 - i)] = 1;
      return this.reshape(this.matMul(perm, this.reshape(filter, [1, KK, A * B])), [KH, KW, A, B]);
    },
  });
}
