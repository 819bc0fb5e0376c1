// fastai v2's MixUp(alpha=0.4) (callback/mixup.py): in each training batch, every image is blended
// with another of the same batch, x = lerp(x[shuffle], x, lam), and the loss is the same blend of
// the losses against both targets, lerp(loss(pred, y[shuffle]), loss(pred, y), lam), per item and
// then averaged. lam ~ Beta(alpha, alpha) per item, folded to max(lam, 1 − lam) so each image
// stays mostly itself. Validation, and the targets metrics read, are never mixed.
import { tf } from '../../backend';
import { Rng } from '../../data/random';
import type { Batch } from '../../data/types';
import type { Callback, RunContext } from '../callback';
import type { Learner } from '../learner';

type LossFunc = Learner['lossFunc'];

/** Key of MixUp's draws, apart from the data pipeline's streams (split, shuffle, augment, show). */
const MIXUP_STREAM = 0x6d6978;

/** Standard normal (Box–Muller). */
export function sampleNormal(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]: log(0) never happens
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1)·U^(1/shape). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`Gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as G_a / (G_a + G_b) of two independent Gammas. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y > 0 ? x / (x + y) : a / (a + b); // both underflow only for tiny shapes
}

/** One batch mixed as v2's MixUp.before_batch: each item lam·x + (1 − lam)·x[shuffle]. */
export function mixBatch(batch: Batch, lam: ArrayLike<number>, shuffle: ArrayLike<number>): Batch {
  const per = batch.x.length / batch.n;
  const x = new Float32Array(batch.x.length);
  for (let i = 0; i < batch.n; i++) {
    const l = lam[i];
    const a = i * per;
    const b = shuffle[i] * per;
    for (let k = 0; k < per; k++) x[a + k] = l * batch.x[a + k] + (1 - l) * batch.x[b + k];
  }
  return { ...batch, x };
}

/** Per-item lerp(loss(pred, y[shuffle]), loss(pred, y), lam) of any per-item loss. */
export function mixedLoss(lossFunc: LossFunc, lam: ArrayLike<number>, shuffle: ArrayLike<number>): LossFunc {
  return (logits, targets) =>
    tf.tidy(() => {
      const shuffled = lossFunc(logits, tf.gather(targets, tf.tensor1d(Array.from(shuffle), 'int32')) as tf.Tensor1D);
      const own = lossFunc(logits, targets);
      return tf.add(shuffled, tf.mul(tf.tensor1d(Array.from(lam)), tf.sub(own, shuffled))) as tf.Tensor1D;
    });
}

export interface MixUpOptions {
  alpha?: number; // 0.4
  /** Seeds the lam and shuffle draws (the dataset's seed, so one --seed repeats a run). */
  seed?: number;
}

export class MixUp implements Callback {
  readonly alpha: number;
  private readonly rng: Rng;
  private oldLoss?: LossFunc;
  /** The current training batch's draws (tests read them). */
  lam: number[] = [];
  shuffle: number[] = [];

  constructor(opts: MixUpOptions = {}) {
    this.alpha = opts.alpha ?? 0.4;
    if (!(this.alpha > 0) || !Number.isFinite(this.alpha)) throw new RangeError(`MixUp alpha must be a positive number, got ${opts.alpha}`);
    this.rng = new Rng(opts.seed ?? 0, MIXUP_STREAM);
  }

  /** Per-item lam: Beta(alpha, alpha), folded to ≥ 0.5. */
  sampleLam(n: number): number[] {
    return Array.from({ length: n }, () => {
      const l = sampleBeta(this.rng, this.alpha, this.alpha);
      return Math.max(l, 1 - l);
    });
  }

  beforeTrain(ctx: RunContext): void {
    if (this.oldLoss) return;
    const learner = ctx.learner;
    this.oldLoss = learner.lossFunc;
    learner.lossFunc = (logits, targets) => mixedLoss(this.oldLoss!, this.lam, this.shuffle)(logits, targets);
  }

  beforeBatch(ctx: RunContext): void {
    if (!ctx.training || !this.oldLoss || !ctx.batch) return;
    const n = ctx.batch.n;
    this.lam = this.sampleLam(n);
    this.shuffle = this.rng.permutation(n);
    ctx.batch = mixBatch(ctx.batch, this.lam, this.shuffle);
  }

  afterTrain(ctx: RunContext): void {
    if (!this.oldLoss) return;
    ctx.learner.lossFunc = this.oldLoss;
    this.oldLoss = undefined;
  }

  afterCancelTrain(ctx: RunContext): void {
    this.afterTrain(ctx);
  }

  /** Also after a failed run, whose afterTrain never fired. */
  afterFit(ctx: RunContext): void {
    this.afterTrain(ctx);
  }
}
