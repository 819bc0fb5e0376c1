// Kernels only this backend has: the fused training paths (batch norm, softmax cross-entropy,
// AdamW). Callers reach them through ../fused.ts, which pairs each with its gradient.
import { input, kernel } from './util';

let reluGradCode = -1;

export const FUSED = {
  batchNormTrain: 'TorchBatchNormTrain',
  batchNormTrainGrad: 'TorchBatchNormTrainGrad',
  softmaxXent: 'TorchSoftmaxCrossEntropy',
  softmaxXentGrad: 'TorchSoftmaxCrossEntropyGrad',
  adamW: 'TorchAdamW',
  reluGrad: 'TorchReluGrad',
} as const;

// y = relu?(bn(x) + residual?); inputs x, gamma, beta and optionally residual; attrs eps, relu
kernel(FUSED.batchNormTrain, (inputs, b, attrs) =>
  b.outputs(b.addon.bnTrain(
    b.handle(input(inputs, 'x')), b.handle(input(inputs, 'gamma')), b.handle(input(inputs, 'beta')), attrs.eps as number,
    inputs.residual ? b.handle(inputs.residual) : null, Boolean(attrs.relu),
  )),
);

// -> [dx, dgamma, dbeta, dz]; with y (the forward's output, when it ended in a relu) dz is the masked dy
kernel(FUSED.batchNormTrainGrad, (inputs, b, attrs) =>
  b.outputs(b.addon.bnTrainGrad(
    b.handle(input(inputs, 'dy')), b.handle(input(inputs, 'x')), b.handle(input(inputs, 'gamma')),
    b.handle(input(inputs, 'mean')), b.handle(input(inputs, 'invStd')), attrs.eps as number,
    inputs.y ? b.handle(inputs.y) : null,
  )),
);

kernel(FUSED.softmaxXent, (inputs, b) =>
  b.outputs(b.addon.xent(b.handle(input(inputs, 'logits')), b.handle(input(inputs, 'targets')))),
);

kernel(FUSED.softmaxXentGrad, (inputs, b) =>
  b.output(b.addon.xentGrad(b.handle(input(inputs, 'dy')), b.handle(input(inputs, 'logSoftmax')), b.handle(input(inputs, 'targets')))),
);

// inputs p0..pN-1, g0.., m0.., v0..; attrs.hyper = [lr, mom, wd, debias1, debias2] per param.
// A param whose p, m and v no other tfjs tensor holds (refCount 1: the variables the caller is
// about to reassign) is updated in place natively; the outputs then share its memory.
kernel(FUSED.adamW, (inputs, b, attrs) => {
  const n = attrs.n as number;
  const hs = (prefix: string) => Array.from({ length: n }, (_, i) => b.handle(input(inputs, `${prefix}${i}`)));
  const sole = (prefix: string, i: number) => b.refCount(input(inputs, `${prefix}${i}`).dataId) === 1;
  const inPlace = Array.from({ length: n }, (_, i) => sole('p', i) && sole('m', i) && sole('v', i));
  return b.outputs(b.addon.adamw(hs('p'), hs('g'), hs('m'), hs('v'), attrs.hyper as number[], attrs.sqrMom as number, attrs.eps as number, inPlace));
});

// dy where x > 0, else 0 (ATen's threshold_backward)
kernel(FUSED.reluGrad, (inputs, b) => {
  if (reluGradCode < 0) reluGradCode = b.addon.binaryOps.indexOf('ReluGrad');
  return b.output(b.addon.binary(reluGradCode, b.handle(input(inputs, 'dy')), b.handle(input(inputs, 'x')), 'float32'));
});
