// Layout kernels: reshape, transpose, slices, concat/stack/split, pad, tile, reverse, gather,
// one-hot, broadcast.
import * as tf from '@tensorflow/tfjs-core';
import { alias, input, kernel, type Inputs } from './util';

const list = (inputs: Inputs): tf.TensorInfo[] => Object.values(inputs) as tf.TensorInfo[];

kernel('Reshape', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const shape = tf.util.inferFromImplicitShape(attrs.shape as number[], tf.util.sizeFromShape(x.shape));
  return b.output(b.addon.reshape(b.handle(x), shape));
});

kernel('ExpandDims', (inputs, b, attrs) => {
  const x = input(inputs, 'input');
  const rank = x.shape.length;
  let axis = attrs.dim as number;
  tf.util.assert(axis >= -(rank + 1) && axis <= rank, () => `Axis must be in the interval [${-(rank + 1)}, ${rank}]`);
  if (axis < 0) axis += rank + 1;
  const shape = [...x.shape];
  shape.splice(axis, 0, 1);
  return b.output(b.addon.reshape(b.handle(x), shape));
});

kernel('Transpose', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const perm = attrs.perm as number[];
  if (perm.every((p, i) => p === i)) return alias(b, x);
  return b.output(b.addon.transpose(b.handle(x), perm));
});

kernel('Slice', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
  return b.output(b.addon.slice(b.handle(x), begin, size));
});

kernel('StridedSlice', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const a = attrs as unknown as {
    begin: number[]; end: number[]; strides: number[]; beginMask: number; endMask: number;
    ellipsisMask: number; newAxisMask: number; shrinkAxisMask: number;
  };
  const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask,
    a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
  const h = b.handle(x);
  if (info.isIdentity) return b.output(b.addon.reshape(h, info.finalShape));
  if (info.finalShape.some((d) => d === 0)) return b.output(b.addon.fill(info.finalShape, 0, x.dtype));
  return b.output(b.addon.stridedSlice(h, info.begin, info.end, info.strides, info.finalShape));
});

kernel('Concat', (inputs, b, attrs) => {
  const ts = list(inputs);
  const axis = tf.util.parseAxisParam(attrs.axis as number, ts[0].shape)[0];
  tf.backend_util.assertParamsConsistent(ts.map((t) => t.shape), axis);
  const nonEmpty = ts.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (nonEmpty.length === 0) {
    const shape = tf.backend_util.computeOutShape(ts.map((t) => t.shape), axis);
    return b.output(b.addon.fill(shape, 0, ts[0].dtype));
  }
  if (nonEmpty.length === 1) return alias(b, nonEmpty[0]);
  return b.output(b.addon.concat(nonEmpty.map((t) => b.handle(t)), axis));
});

kernel('Pack', (inputs, b, attrs) => {
  const ts = list(inputs);
  for (const t of ts) {
    tf.util.assertShapesMatch(ts[0].shape, t.shape, 'All tensors passed to stack must have matching shapes');
    tf.util.assert(t.dtype === ts[0].dtype, () => 'All tensors passed to stack must have matching dtypes');
  }
  const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + ts[0].shape.length + 1 : (attrs.axis as number);
  return b.output(b.addon.stack(ts.map((t) => b.handle(t)), axis));
});

kernel('Unpack', (inputs, b, attrs) => {
  const x = input(inputs, 'value');
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  return b.outputs(b.addon.unstack(b.handle(x), axis));
});

kernel('SplitV', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const spec = attrs.numOrSizeSplits as number | number[];
  let sizes: number[];
  if (typeof spec === 'number') {
    sizes = new Array<number>(spec).fill(x.shape[axis] / spec);
  } else {
    const known = spec.reduce((s, v) => (v === -1 ? s : s + v), 0);
    sizes = spec.map((v) => (v === -1 ? x.shape[axis] - known : v));
  }
  return b.outputs(b.addon.split(b.handle(x), sizes, axis));
});

kernel('PadV2', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const paddings = (attrs.paddings as number[][]).flat();
  return b.output(b.addon.pad(b.handle(x), paddings, (attrs.constantValue as number) ?? 0, 'constant'));
});

kernel('MirrorPad', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const paddings = (attrs.paddings as number[][]).flat();
  return b.output(b.addon.pad(b.handle(x), paddings, 0, attrs.mode as string));
});

kernel('Tile', (inputs, b, attrs) => b.output(b.addon.tile(b.handle(input(inputs, 'x')), attrs.reps as number[])));

kernel('Reverse', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const dims = tf.util.parseAxisParam(attrs.dims as number | number[], x.shape);
  if (dims.length === 0) return alias(b, x);
  return b.output(b.addon.reverse(b.handle(x), dims));
});

kernel('BroadcastTo', (inputs, b, attrs) => b.output(b.addon.broadcastTo(b.handle(input(inputs, 'x')), attrs.shape as number[])));

kernel('GatherV2', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const indices = input(inputs, 'indices');
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  return b.output(b.addon.gather(b.handle(x), b.handle(indices), axis, (attrs.batchDims as number) ?? 0));
});

kernel('UnsortedSegmentSum', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const ids = input(inputs, 'segmentIds');
  return b.output(b.addon.unsortedSegmentSum(b.handle(x), b.handle(ids), attrs.numSegments as number));
});

kernel('OneHot', (inputs, b, attrs) => {
  const indices = input(inputs, 'indices');
  const { depth, onValue, offValue, dtype } = attrs as { depth: number; onValue: number; offValue: number; dtype: tf.DataType };
  return b.output(b.addon.oneHot(b.handle(indices), depth, onValue, offValue, dtype ?? 'int32'));
});
