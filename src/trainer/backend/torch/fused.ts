// The fused training ops of the torch backend, each with its gradient, for the model, loss and
// optimiser to use when torch is the active backend (they return null on any other backend, so
// callers keep their portable path).
import * as tf from '@tensorflow/tfjs-core';
import { FUSED } from './kernels/fused';
import { BACKEND_NAME } from './kernels/util';

export const onTorch = (): boolean => tf.getBackend() === BACKEND_NAME;


const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor[];

/** What follows a batch norm in a ResNet, fused into it: the block's residual add, then a ReLU. */
export interface BatchNormPost {
  residual?: tf.Tensor;
  relu?: boolean;
}

/**
 * Training-mode batch norm over the last axis, y = relu?(bn(x) + residual?): y, batch mean and
 * biased batch variance. Fused, neither bn(x) nor the sum exists as a tensor, and the ReLU's
 * gradient masks with y (saved anyway as the next conv's input), as PyTorch's in-place ops do: per
 * conv-BN-ReLU the step holds two activations (conv output, y) instead of three.
 */
export function torchBatchNormTrain(
  x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, post: BatchNormPost = {},
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } | null {
  if (!onTorch()) return null;
  const relu = post.relu ?? false;
  let stats: [tf.Tensor1D, tf.Tensor1D] | null = null;
  // customGrad passes the inputs, then save: x, gamma, beta and, when there is one, the residual
  const op = tf.customGrad(((...args: [...tf.Tensor[], tf.GradSaveFunc]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xx, g, bb, residual] = args as tf.Tensor[];
    const [y, mean, variance, invStd] = run(FUSED.batchNormTrain, { x: xx, gamma: g, beta: bb, ...(residual ? { residual } : {}) }, { eps, relu });
    save(relu ? [xx, g, mean, invStd, y] : [xx, g, mean, invStd]);
    stats = [tf.keep(mean) as tf.Tensor1D, tf.keep(variance) as tf.Tensor1D];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, si, sy] = saved;
        const [dx, dgamma, dbeta, dz] = run(FUSED.batchNormTrainGrad, { dy, x: sx, gamma: sg, mean: sm, invStd: si, ...(sy ? { y: sy } : {}) }, { eps });
        if (residual) return [dx, dgamma, dbeta, dz];
        dz.dispose();
        return [dx, dgamma, dbeta];
      },
    };
  }) as never) as (...inputs: tf.Tensor[]) => tf.Tensor;
  const y = post.residual ? op(x, gamma, beta, post.residual) : op(x, gamma, beta);
  const [mean, variance] = stats!;
  return { y, mean, variance };
}

/** Softmax cross-entropy per item (−log softmax(logits)[target]) with its fused gradient. */
export function torchCrossEntropyPerItem(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  if (!onTorch()) return null;
  // targets are integer class ids, not differentiable: not an input of the op, but saved with it
  // (the caller may create them inside the function being differentiated)
  const op = tf.customGrad(((l: tf.Tensor, save: tf.GradSaveFunc) => {
    const [loss, logSoftmax] = run(FUSED.softmaxXent, { logits: l, targets });
    save([logSoftmax, targets]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        run(FUSED.softmaxXentGrad, { dy, logSoftmax: saved[0], targets: saved[1] }) as unknown as tf.Tensor,
    };
  }) as never) as (a: tf.Tensor) => tf.Tensor;
  return op(logits) as tf.Tensor1D;
}

export interface AdamWItem {
  param: tf.Tensor;
  grad: tf.Tensor;
  expAvg: tf.Tensor;
  expAvgSq: tf.Tensor;
  lr: number;
  mom: number;
  wd: number;
  debias1: number;
  debias2: number;
}

/**
 * One AdamW update of every item in one native call; returns the new [param, expAvg, expAvgSq]
 * per item (the caller assigns them), or null off torch.
 */
export function torchAdamW(items: AdamWItem[], sqrMom: number, eps: number): [tf.Tensor, tf.Tensor, tf.Tensor][] | null {
  if (!onTorch()) return null;
  const inputs: tf.NamedTensorMap = {};
  const hyper: number[] = [];
  items.forEach((it, i) => {
    inputs[`p${i}`] = it.param;
    inputs[`g${i}`] = it.grad;
    inputs[`m${i}`] = it.expAvg;
    inputs[`v${i}`] = it.expAvgSq;
    hyper.push(it.lr, it.mom, it.wd, it.debias1, it.debias2);
  });
  const n = items.length;
  const out = run(FUSED.adamW, inputs, { n, hyper, sqrMom, eps });
  return items.map((_, i) => [out[i], out[n + i], out[2 * n + i]]);
}

let reluGradPatched = false;

/**
 * tfjs's Relu gradient is dy · cast(step(x)): two full-size kernels, and Step alone was the
 * fourth-costliest kernel of a resnet34 step. On torch the gradient is one threshold_backward
 * (x = NaN gives 0 there, as in PyTorch, where tfjs gives NaN); other backends keep tfjs's own.
 */
export function patchReluGradient(): void {
  if (reluGradPatched) return;
  reluGradPatched = true;
  const base = tf.getGradient(tf.Relu);
  if (!base) return;
  tf.registerGradient({
    ...base,
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor;
      if (!onTorch() || g.dtype !== 'float32' || saved[0].dtype !== 'float32') return base.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(FUSED.reluGrad, { dy: g, x: saved[0] }) as tf.Tensor };
    },
  });
}
