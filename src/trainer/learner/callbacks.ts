// The standard callbacks: recorder, metrics, schedulers, lr finder, progress events.
import type { TrainerEvent } from '../../protocol/events';
import type { Callback, RunContext, RunStatus, ValidBatchOutput } from './callback';
import type { EpochRecord, LrFindResult } from './types';
import { lrFindAt, oneCycleAt, type OneCycleParams } from './schedule';
import { minGradLr, valleyLr } from './suggestions';

/** Per-batch and per-epoch history of the last run (fastai learn.recorder). */
export class Recorder implements Callback {
  readonly order = 10;
  /** Per batch: lr of every layer group. */
  lrs: number[][] = [];
  /** Per batch: beta1 of the last group. */
  moms: number[] = [];
  losses: number[] = [];
  smoothLosses: number[] = [];
  epochs: EpochRecord[] = [];

  beginFit(): void {
    this.lrs = [];
    this.moms = [];
    this.losses = [];
    this.smoothLosses = [];
    this.epochs = [];
  }

  afterBatch(ctx: RunContext): void {
    const opt = ctx.learner.opt;
    this.lrs.push([...opt.lrs]);
    this.moms.push(opt.moms[opt.moms.length - 1]);
    this.losses.push(ctx.loss);
    this.smoothLosses.push(ctx.smoothLoss);
  }

  afterEpoch(ctx: RunContext): void {
    const accuracy = ctx.metrics.accuracy ?? null;
    this.epochs.push({
      epoch: ctx.epoch,
      trainLoss: ctx.smoothLoss,
      validLoss: ctx.validLoss,
      accuracy,
      errorRate: ctx.metrics.error_rate ?? null,
      seconds: (performance.now() - ctx.epochStartedAt) / 1000,
      trainImagesPerSecond: ctx.epochTrainSeconds > 0 ? ctx.epochTrainImages / ctx.epochTrainSeconds : 0,
    });
  }

  /** lr of the last layer group per batch (what fastai's plot_lr shows). */
  get lastGroupLrs(): number[] {
    return this.lrs.map((l) => l[l.length - 1]);
  }
}

/** accuracy and error_rate (= 1 − accuracy) over the validation set. */
export class AccuracyMetric implements Callback {
  readonly order = 0;
  private correct = 0;
  private total = 0;

  beginValidate(): void {
    this.correct = 0;
    this.total = 0;
  }

  afterValidBatch(_ctx: RunContext, out: ValidBatchOutput): void {
    for (let i = 0; i < out.n; i++) {
      let best = 0;
      for (let j = 1; j < out.c; j++) if (out.logits[i * out.c + j] > out.logits[i * out.c + best]) best = j;
      if (best === out.targets[i]) this.correct += 1;
    }
    this.total += out.n;
  }

  afterValidate(ctx: RunContext): void {
    if (this.total === 0) return;
    const acc = this.correct / this.total;
    ctx.metrics.accuracy = acc;
    ctx.metrics.error_rate = 1 - acc;
  }
}

/** Same lr for every batch (fit), momentum = the optimiser's default beta1. */
export class ConstantLr implements Callback {
  readonly order = 0;
  constructor(private readonly lrs: number[], private readonly mom = 0.9) {}
  beginFit(ctx: RunContext): void {
    ctx.learner.opt.lrs = [...this.lrs];
    ctx.learner.opt.setMom(this.mom);
  }
}

/** fastai v1 OneCycleScheduler: lr and momentum per batch from the two cosine phases. */
export class OneCycleScheduler implements Callback {
  readonly order = 0;
  constructor(private readonly params: Omit<OneCycleParams, 'totalSteps'>) {}
  beginBatch(ctx: RunContext): void {
    const v = oneCycleAt({ ...this.params, totalSteps: ctx.totalSteps }, ctx.step);
    ctx.learner.opt.lrs = v.lrs;
    ctx.learner.opt.setMom(v.mom);
  }
}

/**
 * fastai LRFinder: exponential lr sweep, stops after numIt batches or when the smoothed loss
 * passes 4× the best (or is NaN); skips validation; the learner restores weights afterwards.
 */
export class LrFinder implements Callback {
  readonly order = 0;
  private best = Infinity;
  result: LrFindResult | null = null;
  constructor(
    private readonly startLrs: number[],
    private readonly endLrs: number[],
    private readonly numIt: number,
    private readonly stopDiv: boolean,
  ) {}

  beginFit(ctx: RunContext): void {
    ctx.skipValidate = true;
    ctx.learner.opt.setMom(0.9); // a plain fit's beta1, as after fastai's create_opt
    this.best = Infinity;
  }

  beginBatch(ctx: RunContext): void {
    ctx.learner.opt.lrs = lrFindAt(this.startLrs, this.endLrs, this.numIt, ctx.step);
  }

  afterBatch(ctx: RunContext): void {
    const s = ctx.smoothLoss;
    if (ctx.step === 0 || s < this.best) this.best = s;
    if (ctx.step + 1 >= this.numIt || (this.stopDiv && (Number.isNaN(s) || s > 4 * this.best))) ctx.stopTraining = true;
  }

  afterFit(ctx: RunContext): void {
    const rec = ctx.learner.recorder;
    const lrs: number[] = [];
    const losses: number[] = [];
    rec.lastGroupLrs.forEach((lr, i) => {
      const l = rec.smoothLosses[i];
      if (Number.isFinite(l)) {
        lrs.push(lr);
        losses.push(l);
      }
    });
    this.result = {
      lrs,
      losses,
      suggestions: { minGrad: minGradLr(lrs, losses, 10, 5), valley: valleyLr(lrs, losses, this.numIt) },
    };
  }
}

/** Emits the protocol's run events through the learner's onEvent. */
export class ProgressEvents implements Callback {
  readonly order = 20;
  constructor(private readonly emit: (e: TrainerEvent) => void) {}

  beginFit(ctx: RunContext): void {
    this.emit({
      type: 'fit_begin',
      runId: ctx.runId,
      kind: ctx.kind,
      epochs: ctx.nEpochs,
      batchesPerEpoch: ctx.batchesPerEpoch,
      totalBatches: ctx.totalSteps,
      lrs: ctx.maxLrs,
      frozenTo: ctx.learner.frozenTo,
      layerGroups: ctx.learner.layerGroupCount,
    });
  }

  afterBatch(ctx: RunContext): void {
    // The protocol's numbers are finite; a diverged batch is visible in the recorder instead.
    if (!Number.isFinite(ctx.loss) || !Number.isFinite(ctx.smoothLoss)) return;
    const opt = ctx.learner.opt;
    this.emit({
      type: 'batch',
      runId: ctx.runId,
      epoch: ctx.epoch,
      iter: ctx.iter,
      step: ctx.step,
      lrs: [...opt.lrs],
      mom: opt.moms[opt.moms.length - 1],
      loss: ctx.loss,
      smoothLoss: ctx.smoothLoss,
    });
  }

  afterEpoch(ctx: RunContext): void {
    const r = ctx.learner.recorder.epochs[ctx.learner.recorder.epochs.length - 1];
    // lr_find's passes are not epochs a person reads in the table.
    if (!r || r.epoch !== ctx.epoch || ctx.kind === 'lr_find') return;
    this.emit({ type: 'epoch', runId: ctx.runId, ...r, trainLoss: finiteOr(r.trainLoss, Number.MAX_VALUE) });
  }

  afterFit(ctx: RunContext, status: RunStatus, error?: Error): void {
    const finder = ctx.learner.activeLrFinder;
    if (ctx.kind === 'lr_find' && finder?.result) this.emit({ type: 'lr_find_result', runId: ctx.runId, ...finder.result });
    this.emit({ type: 'fit_end', runId: ctx.runId, kind: ctx.kind, status, ...(error ? { error: error.message } : {}) });
  }
}

function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}
