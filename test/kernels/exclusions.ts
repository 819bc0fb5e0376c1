// tfjs-core specs the torch backend does not run, each with why. A rule names specs by the start
// of their name ("<describe> <it>", without the test environment). What the backend lacks it
// refuses loudly (the error names the kernel and what is unsupported); nothing here is a silent
// wrong answer.
export interface Exclusion {
  specs: string[];
  reason: string;
}

export const EXCLUSIONS: Exclusion[] = [
  {
    reason: "string tensors: the backend holds float32, int32 and bool only (strings are for text models; the trainer never makes one) and refuses 'string' by name",
    specs: [
      'concat3d Accepts string tensor', 'equal should support string comparison', 'notEqual should support string comparison',
      'greater should support string comparison', 'greaterEqual should support string comparison',
      'less should support string comparison', 'lessEqual should support string comparison', 'fill 1D fill string',
      'fill 2D fill string', 'slice  accepts string', 'squeeze default', 'squeeze specific dimension', 'expandDims 1d string tensor', 'expandDims 2d string tensor, axis=1', 'squeeze all ones',
      'squeeze squeeze only ones', 'stack accepts string', 'tile 1d string tensor', 'tile 2d string tensor',
      'tile 6D string tensor', 'unstack accepts string', 'tensor Scalar string dtype', 'tensor reshape a string tensor',
      'tensor.toString 1d long string tensor', 'tensor.toString 2d long string tensor',
    ],
  },
  {
    reason: "dataFormat NCHW: convolutions take NHWC (tfjs's default, what tf.layers and our models use, laid onto ATen's channels-last without a copy); NCHW is refused by name",
    specs: [
      'conv2d x=[2,1,2,2] f=[1,1,1,1] s=1 d=1 p=0 NCHW', 'conv2d x=[1,2,2] f=[2,2,1,1] s=1 d=1 p=same NCHW',
      'conv2d x=[4,2,2] f=[1,1,4,4] s=1 d=1 p=same NCHW', 'conv2d x=[3,2,2] f=[1,1,3,4] s=1 d=1 p=same NCHW',
      'conv2d x=[2,2,2,2] f=[1,1,4,4] s=1 d=1 p=same NCHW', 'conv2d x=[4,2,2] f=[2,2,4,4] s=1 d=1 p=same NCHW',
      'conv2d x=[1,2,2] f=[2,2,1,1] s=1 d=1 p=explicit NCHW', 'conv2d x=[2,2,2] f=[2,2,2,1] s=1 d=1 p=same NCHW',
      'conv2d x=[2,1,2,2] f=[2,2,1,1] s=1 d=1 p=same NCHW', 'conv2d gradient x=[1,1,3,3] f=[2,2,1,1] s=1 p=0 NCHW',
      'conv2d gradient x=[2,1,3,3] f=[2,2,1,1] s=1 p=0 NCHW', 'fused conv2d basic in NCHW', 'fused conv2d im2row in NCHW',
      'fused conv2d batch in NCHW',
    ],
  },
  {
    reason: 'GatherV2 with batchDims > 0 (batched gather) is refused by name; the trainer gathers with batchDims 0 only',
    specs: [
      'gather 2D (gather), 2D indices, non-zero batchDims', 'gather 2D (gather), 2D indices, negative batchDims',
      'gather 3D (gather), 2D indices, non-zero batchDims', 'gather throws when batch dims greater than axis',
      'gather throws when batch dims greater than indices rank', 'gather throws when batch dims do not match',
      'gather gradient 2D (gather) axis=1 shape=[4, 2] 1D indices batchDims 1',
    ],
  },
  {
    reason: "an out-of-range gather index throws ATen's 'index out of range in self', not tfjs's wording (the spec matches the message)",
    specs: ['gather throws when index is out of bound'],
  },
  {
    reason: 'a NaN inside a max-pool window gives NaN, as in PyTorch, where tfjs skips it; skipping would cost a copy of every pooled activation per step, and a NaN there is a diverged run that should show',
    specs: ['maxPool [x=[3,3,1] f=[2,2] s=1 ignores NaNs'],
  },
  {
    reason: 'a 1×1 window wholly inside the padding: tfjs clamps it onto the image edge, ATen (and TensorFlow) see only padding there (-inf for max, no cells for avg)',
    specs: ['pool max x=[2,2,3] f=[1,1] s=2 p=1 fractional outputs', 'pool avg x=[2,2,3] f=[1,1] s=2 p=1 fractional outputs'],
  },
  {
    reason: "tfjs's AvgPoolGrad divides by the whole window while its AvgPool divides by the cells inside the image; this backend returns the true gradient of that forward",
    specs: ['avgPool gradient x=[3,3,1] f=[3,3] s=1 p=explicit'],
  },
  {
    reason: "dy larger than any forward output of that input (8×8 from a 4×4 input, 'same', stride 1): not a gradient a convolution produces; oneDNN refuses it loudly",
    specs: ['conv2dTranspose input=8x8x8,output=4x4x8,f=8,s=1,inDepth=8,p=same vec4'],
  },
];

export function exclusionOf(name: string): Exclusion | undefined {
  return EXCLUSIONS.find((e) => e.specs.some((s) => name.startsWith(s)));
}
