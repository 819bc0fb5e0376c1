// fastai's classifier head (create_head with concat_pool=True, one hidden layer of 512):
//   0 AdaptiveConcatPool2d [max, avg] · 1 Flatten · 2 BatchNorm1d(2nf) · 3 Dropout(ps[0]) ·
//   4 Linear(2nf, 512) · 5 ReLU · 6 BatchNorm1d(512) · 7 Dropout(ps[1]) · 8 Linear(512, c)
// Parameter names follow that nn.Sequential's indices: 'head.2.weight', 'head.4.weight', …
import { tf } from '../backend';
import { BatchNorm, type BatchNormSet } from './batchnorm';
import type { ParamStore } from './params';
import type { SeededRandom } from './random';

export const HEAD_GROUP = 2;
export const HEAD_HIDDEN = 512;

class Linear {
  readonly weight: tf.Variable; // [in, out]
  readonly bias: tf.Variable;
  constructor(store: ParamStore, rand: SeededRandom, name: string, nIn: number, nOut: number) {
    // fastai: nn.init.kaiming_normal_ (fan_in, relu gain) → std = √(2 / in), bias 0
    this.weight = store.param(`${name}.weight`, tf.tensor2d(rand.normal(nIn * nOut, Math.sqrt(2 / nIn)), [nIn, nOut]), HEAD_GROUP);
    this.bias = store.param(`${name}.bias`, tf.zeros([nOut]), HEAD_GROUP);
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight as tf.Tensor2D), this.bias);
  }
}

export interface Head {
  apply(features: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

export function buildHead(
  store: ParamStore,
  rand: SeededRandom,
  bns: BatchNormSet,
  nf: number,
  numClasses: number,
  ps: [number, number],
  dropoutRand: SeededRandom,
): Head {
  const bn1 = new BatchNorm(store, 'head.2', 2 * nf, HEAD_GROUP, bns);
  const lin1 = new Linear(store, rand, 'head.4', 2 * nf, HEAD_HIDDEN);
  const bn2 = new BatchNorm(store, 'head.6', HEAD_HIDDEN, HEAD_GROUP, bns);
  const lin2 = new Linear(store, rand, 'head.8', HEAD_HIDDEN, numClasses);
  const dropout = (x: tf.Tensor2D, p: number, training: boolean) =>
    training && p > 0 ? (tf.dropout(x, p, undefined, dropoutRand.int()) as tf.Tensor2D) : x;
  return {
    apply(features, training) {
      const pooled = tf.concat([tf.max(features, [1, 2]), tf.mean(features, [1, 2])], 1) as tf.Tensor2D;
      let h = dropout(bn1.apply(pooled, training), ps[0], training);
      h = tf.relu(lin1.apply(h));
      h = dropout(bn2.apply(h, training), ps[1], training);
      return lin2.apply(h);
    },
  };
}
