// BatchNorm (torch semantics: eps 1e-5, momentum 0.1, unbiased variance in the running stats).
// Training uses one custom-gradient op with the closed-form backward
//   dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))
// instead of tfjs's moments + batchNorm graph (fewer, cheaper kernels on wasm).
import { tf, torchBatchNormTrain, type BatchNormPost } from '../backend';
import type { ParamStore } from './params';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** Batch statistics of one training forward, waiting for commitBatchStats(). */
export interface PendingStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D; // biased (what the forward normalised with)
  count: number; // values per channel
}

let stash: [tf.Tensor1D, tf.Tensor1D] | null = null;

const batchNormTrainOp = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
  const axes = [...Array(x.rank - 1).keys()];
  const mean = tf.mean(x, axes) as tf.Tensor1D;
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axes) as tf.Tensor1D;
  const invStd = tf.rsqrt(tf.add(variance, BN_EPS));
  const xHat = tf.mul(centred, invStd);
  const value = tf.add(tf.mul(xHat, gamma), beta);
  save([xHat, invStd, gamma]);
  stash = [tf.keep(mean), tf.keep(variance)];
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, is, g] = saved;
      const dBeta = tf.sum(dy, axes);
      const dGamma = tf.sum(tf.mul(dy, xh), axes);
      const n = dy.size / dy.shape[dy.rank - 1];
      const dx = tf.mul(tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n))), tf.mul(g, is));
      return [dx, dGamma, dBeta];
    },
  };
}) as any) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

function withPost<T extends tf.Tensor>(y: T, post: BatchNormPost): T {
  const sum = post.residual ? (tf.add(y, post.residual) as T) : y;
  return post.relu ? tf.relu(sum) : sum;
}

export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(
    store: ParamStore,
    readonly name: string,
    channels: number,
    group: number,
    private readonly set: BatchNormSet,
  ) {
    set.layers.set(name, this);
    this.gamma = store.param(`${name}.weight`, tf.ones([channels]), group, true);
    this.beta = store.param(`${name}.bias`, tf.zeros([channels]), group, true);
    this.runningMean = store.buffer(`${name}.running_mean`, tf.zeros([channels]));
    this.runningVar = store.buffer(`${name}.running_var`, tf.ones([channels]));
    this.numBatchesTracked = store.buffer(`${name}.num_batches_tracked`, tf.scalar(0, 'int32'));
  }

  /** relu?(bn(x) + residual?): `post` is what follows the norm in a ResNet block, fused into it on torch. */
  apply<T extends tf.Tensor>(x: T, training: boolean, post: BatchNormPost = {}): T {
    if (!training) {
      return withPost(tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, BN_EPS) as T, post);
    }
    // On torch: ATen's native batch norm forward and backward, one kernel each way.
    const fused = torchBatchNormTrain(x, this.gamma, this.beta, BN_EPS, post);
    if (fused) {
      this.set.record(this.name, { mean: fused.mean, variance: fused.variance, count: x.size / x.shape[x.rank - 1] });
      return fused.y as T;
    }
    const y = batchNormTrainOp(x, this.gamma, this.beta) as T;
    const [mean, variance] = stash!;
    stash = null;
    this.set.record(this.name, { mean, variance, count: x.size / x.shape[x.rank - 1] });
    return withPost(y, post);
  }

  /** running = (1 − m)·running + m·batch, with the unbiased batch variance (torch). */
  commit(stats: PendingStats): void {
    const unbias = stats.count > 1 ? stats.count / (stats.count - 1) : 1;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - BN_MOMENTUM), tf.mul(stats.mean, BN_MOMENTUM)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - BN_MOMENTUM), tf.mul(stats.variance, BN_MOMENTUM * unbias)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
  }
}

/** A model's BatchNorm layers and the batch statistics of its last training forward. */
export class BatchNormSet {
  readonly layers = new Map<string, BatchNorm>();
  private readonly pending = new Map<string, PendingStats>();

  /** A newer forward replaces a layer's uncommitted statistics. */
  record(name: string, stats: PendingStats): void {
    this.drop(name);
    this.pending.set(name, stats);
  }

  commit(): void {
    for (const [name, stats] of this.pending) this.layers.get(name)!.commit(stats);
    this.discard();
  }

  discard(): void {
    for (const name of [...this.pending.keys()]) this.drop(name);
  }

  private drop(name: string): void {
    const stats = this.pending.get(name);
    if (!stats) return;
    stats.mean.dispose();
    stats.variance.dispose();
    this.pending.delete(name);
  }
}
