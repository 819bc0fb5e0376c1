// Convolution and pooling kernels, forward and backward (tfjs's engine does the autograd; these
// are the kernels its gradients call). Geometry comes from tfjs's own conv/pool helpers.
import * as tf from '@tensorflow/tfjs-core';
import type { TorchBackend } from '../backend';
import { fusedArgs, input, kernel, type Attrs } from './util';

type ConvInfo = tf.backend_util.Conv2DInfo;

function requireNhwc(attrs: Attrs): void {
  const f = attrs.dataFormat as string | undefined;
  if (f && f !== 'NHWC' && f !== 'channelsLast') {
    throw new Error(`torch backend: Conv2D dataFormat '${f}' is not supported (NHWC only)`);
  }
}

const strides = (c: ConvInfo) => [c.strideHeight, c.strideWidth];
const dilations = (c: ConvInfo) => [c.dilationHeight, c.dilationWidth];
const pads = (c: ConvInfo) => [c.padInfo.top, c.padInfo.bottom, c.padInfo.left, c.padInfo.right];

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, depthwise = false): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number]) ?? 1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
  );
}

function conv(b: TorchBackend, inputs: tf.NamedTensorInfoMap, attrs: Attrs, fused: boolean): tf.TensorInfo {
  requireNhwc(attrs);
  const x = input(inputs, 'x');
  const filter = input(inputs, 'filter');
  const c = convInfo(x.shape, filter.shape, attrs);
  const f = fusedArgs(b, inputs, attrs, fused);
  return b.output(b.addon.conv2d(b.handle(x), b.handle(filter), strides(c), pads(c), dilations(c), f.bias, f.act, f.prelu, f.alpha));
}

kernel('Conv2D', (inputs, b, attrs) => conv(b, inputs, attrs, false));
kernel('FusedConv2D', (inputs, b, attrs) => conv(b, inputs, attrs, true));

kernel('Conv2DBackpropInput', (inputs, b, attrs) => {
  requireNhwc(attrs);
  const dy = input(inputs, 'dy');
  const filter = input(inputs, 'filter');
  const inShape = attrs.inputShape as number[];
  const c = convInfo(inShape, filter.shape, { ...attrs, dilations: 1 });
  return b.output(b.addon.conv2dBackpropInput(b.handle(dy), b.handle(filter), inShape, strides(c), pads(c), dilations(c)));
});

kernel('Conv2DBackpropFilter', (inputs, b, attrs) => {
  requireNhwc(attrs);
  const x = input(inputs, 'x');
  const dy = input(inputs, 'dy');
  const filterShape = attrs.filterShape as number[];
  const c = convInfo(x.shape, filterShape, { ...attrs, dilations: 1 });
  return b.output(b.addon.conv2dBackpropFilter(b.handle(x), b.handle(dy), filterShape, strides(c), pads(c), dilations(c)));
});

function depthwise(b: TorchBackend, inputs: tf.NamedTensorInfoMap, attrs: Attrs, fused: boolean): tf.TensorInfo {
  requireNhwc(attrs);
  const x = input(inputs, 'x');
  const filter = input(inputs, 'filter');
  const c = convInfo(x.shape, filter.shape, attrs, true);
  const f = fusedArgs(b, inputs, attrs, fused);
  return b.output(b.addon.depthwiseConv2d(b.handle(x), b.handle(filter), strides(c), pads(c), dilations(c), f.bias, f.act, f.prelu, f.alpha));
}

kernel('DepthwiseConv2dNative', (inputs, b, attrs) => depthwise(b, inputs, attrs, false));
kernel('FusedDepthwiseConv2D', (inputs, b, attrs) => depthwise(b, inputs, attrs, true));

kernel('DepthwiseConv2dNativeBackpropInput', (inputs, b, attrs) => {
  const dy = input(inputs, 'dy');
  const filter = input(inputs, 'filter');
  const inShape = attrs.inputShape as number[];
  const c = convInfo(inShape, filter.shape, attrs, true);
  return b.output(b.addon.depthwiseBackpropInput(b.handle(dy), b.handle(filter), inShape, strides(c), pads(c), dilations(c)));
});

kernel('DepthwiseConv2dNativeBackpropFilter', (inputs, b, attrs) => {
  const x = input(inputs, 'x');
  const dy = input(inputs, 'dy');
  const filterShape = attrs.filterShape as number[];
  const c = convInfo(x.shape, filterShape, attrs, true);
  return b.output(b.addon.depthwiseBackpropFilter(b.handle(x), b.handle(dy), filterShape, strides(c), pads(c), dilations(c)));
});

function poolInfo(xShape: number[], attrs: Attrs): ConvInfo {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
}
const ksize = (c: ConvInfo) => [c.filterHeight, c.filterWidth];

/**
 * tfjs's pool pads, with the bottom/right grown or cut (negative: cropped) so that ATen's floor
 * rounding gives tfjs's output size, which dimRoundingMode 'round'/'ceil' can make one larger.
 */
function poolPads(c: ConvInfo): number[] {
  const fit = (size: number, before: number, after: number, k: number, s: number, out: number) => {
    const least = (out - 1) * s + k - size - before;
    return Math.min(Math.max(after, least), least + s - 1);
  };
  const { top, bottom, left, right } = c.padInfo;
  return [
    top, fit(c.inHeight, top, bottom, c.filterHeight, c.strideHeight, c.outHeight),
    left, fit(c.inWidth, left, right, c.filterWidth, c.strideWidth, c.outWidth),
  ];
}

for (const [name, kind] of [['MaxPool', 'max'], ['AvgPool', 'avg']] as const) {
  kernel(name, (inputs, b, attrs) => {
    const x = input(inputs, 'x');
    const c = poolInfo(x.shape, attrs);
    return b.output(b.addon.pool(kind, b.handle(x), ksize(c), strides(c), poolPads(c)));
  });
}

for (const [name, kind] of [['MaxPoolGrad', 'max'], ['AvgPoolGrad', 'avg']] as const) {
  kernel(name, (inputs, b, attrs) => {
    const dy = input(inputs, 'dy');
    const x = input(inputs, 'input');
    const c = poolInfo(x.shape, attrs);
    return b.output(b.addon.poolGrad(kind, b.handle(dy), b.handle(x), ksize(c), strides(c), poolPads(c)));
  });
}
