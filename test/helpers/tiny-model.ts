// A tiny ClassifierModel for learner tests: two conv+BN+ReLU blocks (groups 0 and 1) and fastai's
// head (concat pool → BN → dropout → linear → ReLU → BN → dropout → linear, group 2).
import { tf } from '../../src/trainer/backend';
import type { ClassifierModel, ModelConfig, ModelParam } from '../../src/trainer/models/types';

export interface TinyModelOptions {
  numClasses: number;
  /** Dropout probabilities of the head; [0, 0] for deterministic tests. */
  ps?: [number, number];
  seed?: number;
  width?: number; // channels of the first conv, 8
  hidden?: number; // head's hidden width, 16
}

interface Bn {
  weight: tf.Variable;
  bias: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
  name: string;
}

export function createTinyModel(opts: TinyModelOptions): ClassifierModel {
  const c = opts.numClasses;
  const w = opts.width ?? 8;
  const hidden = opts.hidden ?? 16;
  const ps = opts.ps ?? [0.25, 0.5];
  let seed = opts.seed ?? 1;
  const params: ModelParam[] = [];
  const buffers = new Map<string, tf.Tensor>();
  const vars = new Map<string, tf.Variable>();
  const add = (name: string, init: tf.Tensor, group: number, isBn: boolean) => {
    const v = tf.variable(init, true);
    init.dispose();
    params.push({ name, variable: v, group, isBn });
    vars.set(name, v);
    return v;
  };
  const kaiming = (shape: number[], fanIn: number) => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed++);
  const bn = (name: string, n: number, group: number): Bn => {
    const b: Bn = {
      name,
      weight: add(`${name}.weight`, tf.ones([n]), group, true),
      bias: add(`${name}.bias`, tf.zeros([n]), group, true),
      mean: tf.variable(tf.zeros([n]), false),
      variance: tf.variable(tf.ones([n]), false),
    };
    buffers.set(`${name}.running_mean`, b.mean);
    buffers.set(`${name}.running_var`, b.variance);
    return b;
  };
  const conv1 = add('body.0.weight', kaiming([3, 3, 3, w], 27), 0, false);
  const bn1 = bn('body.1', w, 0);
  const conv2 = add('body.3.weight', kaiming([3, 3, w, 2 * w], 9 * w), 1, false);
  const bn2 = bn('body.4', 2 * w, 1);
  const nf = 4 * w;
  const hbn1 = bn('head.2', nf, 2);
  const lin1W = add('head.4.weight', kaiming([nf, hidden], nf), 2, false);
  const lin1B = add('head.4.bias', tf.zeros([hidden]), 2, false);
  const hbn2 = bn('head.6', hidden, 2);
  const lin2W = add('head.8.weight', kaiming([hidden, c], hidden), 2, false);
  const lin2B = add('head.8.bias', tf.zeros([c]), 2, false);

  let pending: { bn: Bn; mean: tf.Tensor; variance: tf.Tensor; n: number }[] = [];
  const clearPending = () => {
    for (const p of pending) {
      p.mean.dispose();
      p.variance.dispose();
    }
    pending = [];
  };
  const batchNorm = (x: tf.Tensor, b: Bn, training: boolean): tf.Tensor => {
    if (!training) return tf.batchNorm(x, b.mean, b.variance, b.bias, b.weight, 1e-5);
    const axes = x.rank === 4 ? [0, 1, 2] : [0];
    const { mean, variance } = tf.moments(x, axes);
    const n = axes.reduce((a, ax) => a * x.shape[ax], 1);
    pending.push({ bn: b, mean: tf.keep(mean), variance: tf.keep(variance), n });
    return tf.batchNorm(x, mean, variance, b.bias, b.weight, 1e-5);
  };
  const dropout = (x: tf.Tensor, rate: number, training: boolean) => (training && rate > 0 ? tf.dropout(x, rate) : x);

  const features = (x: tf.Tensor4D, training: boolean) =>
    tf.tidy(() => {
      let h = tf.relu(batchNorm(tf.conv2d(x, conv1 as tf.Tensor4D, 2, 'same'), bn1, training)) as tf.Tensor4D;
      h = tf.relu(batchNorm(tf.conv2d(h, conv2 as tf.Tensor4D, 2, 'same'), bn2, training)) as tf.Tensor4D;
      return h;
    });
  const head = (f: tf.Tensor4D, training: boolean) =>
    tf.tidy(() => {
      let h: tf.Tensor = tf.concat([tf.max(f, [1, 2]), tf.mean(f, [1, 2])], 1);
      h = dropout(batchNorm(h, hbn1, training), ps[0], training);
      h = tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, lin1W as tf.Tensor2D), lin1B));
      h = dropout(batchNorm(h, hbn2, training), ps[1], training);
      return tf.add(tf.matMul(h as tf.Tensor2D, lin2W as tf.Tensor2D), lin2B) as tf.Tensor2D;
    });
  const config: ModelConfig = { arch: 'resnet18', numClasses: c, ps };
  return {
    config,
    params,
    buffers,
    layerGroupCount: 3,
    features,
    head,
    forward: (x, training) => {
      if (training) clearPending();
      return tf.tidy(() => head(features(x, training), training));
    },
    commitBatchStats() {
      for (const p of pending) {
        tf.tidy(() => {
          const unbiased = tf.mul(p.variance, p.n / Math.max(1, p.n - 1));
          p.bn.mean.assign(tf.add(tf.mul(p.bn.mean, 0.9), tf.mul(p.mean, 0.1)));
          p.bn.variance.assign(tf.add(tf.mul(p.bn.variance, 0.9), tf.mul(unbiased, 0.1)));
        });
      }
      clearPending();
    },
    stateDict() {
      const m = new Map<string, tf.Tensor>();
      for (const p of params) m.set(p.name, p.variable);
      for (const [k, v] of buffers) m.set(k, v);
      return m;
    },
    loadStateDict(state, o = {}) {
      const targets = new Map<string, tf.Variable>([...vars, ...([...buffers] as [string, tf.Variable][])]);
      if (o.strict !== false) {
        for (const k of targets.keys()) if (!state.has(k)) throw new Error(`missing '${k}'`);
        for (const k of state.keys()) if (!targets.has(k)) throw new Error(`unexpected '${k}'`);
      }
      for (const [k, t] of state) {
        const v = targets.get(k);
        if (!v) continue;
        if (!tf.util.arraysEqual(v.shape, t.shape)) throw new Error(`'${k}' has shape [${t.shape}], expected [${v.shape}]`);
        v.assign(t);
      }
    },
    dispose() {
      clearPending();
      for (const p of params) p.variable.dispose();
      for (const b of buffers.values()) b.dispose();
    },
  };
}
