// fastai learn.recorder: smooths the training loss, averages the validation loss and keeps the
// per-batch and per-epoch history of the last run.
import type { Callback, RunContext } from '../callback';
import type { EpochRecord } from '../types';
import { SmoothedValue } from '../smooth';

export class Recorder implements Callback {
  /** After the Timer and the metrics, before everything that reads the smoothed loss. */
  readonly order = 10;
  /** Per batch: lr of every layer group. */
  lrs: number[][] = [];
  /** Per batch: beta1 of the last group. */
  moms: number[] = [];
  losses: number[] = [];
  smoothLosses: number[] = [];
  epochs: EpochRecord[] = [];
  private smooth = new SmoothedValue(0.98);
  private validSum = 0;
  private validCount = 0;

  beforeFit(ctx: RunContext): void {
    this.lrs = [];
    this.moms = [];
    this.losses = [];
    this.smoothLosses = [];
    this.epochs = [];
    this.smooth = new SmoothedValue(0.98);
    ctx.smoothLoss = NaN;
  }

  beforeEpoch(ctx: RunContext): void {
    ctx.validLoss = null;
    ctx.metrics = {};
  }

  beforeValidate(): void {
    this.validSum = 0;
    this.validCount = 0;
  }

  afterBatch(ctx: RunContext): void {
    if (!ctx.training) {
      const out = ctx.out;
      if (out) for (let i = 0; i < out.n; i++) this.validSum += out.losses[i];
      this.validCount += out?.n ?? 0;
      return;
    }
    ctx.smoothLoss = this.smooth.add(ctx.loss);
    const opt = ctx.learner.opt;
    this.lrs.push([...opt.lrs]);
    this.moms.push(opt.moms[opt.moms.length - 1]);
    this.losses.push(ctx.loss);
    this.smoothLosses.push(ctx.smoothLoss);
  }

  afterValidate(ctx: RunContext): void {
    ctx.validLoss = this.validCount > 0 ? this.validSum / this.validCount : null;
  }

  afterEpoch(ctx: RunContext): void {
    this.epochs.push({
      epoch: ctx.epoch,
      trainLoss: ctx.smoothLoss,
      validLoss: ctx.validLoss,
      accuracy: ctx.metrics.accuracy ?? null,
      errorRate: ctx.metrics.error_rate ?? null,
      seconds: ctx.epochSeconds,
      trainImagesPerSecond: ctx.trainImagesPerSecond,
      ...(ctx.phase ? { phase: ctx.phase } : {}),
    });
  }

  /** lr of the last layer group per batch (what fastai's plot_lr shows). */
  get lastGroupLrs(): number[] {
    return this.lrs.map((l) => l[l.length - 1]);
  }
}
