// fastai LRFinder: an exponential lr sweep over numIt training batches that ends early when the
// smoothed loss passes 4× the best (or is NaN), skips validation, and puts the weights, BatchNorm
// statistics and optimiser state back exactly as they were when it began.
import type { tf } from '../../backend';
import { CancelFitException, CancelValidException, type Callback, type RunContext } from '../callback';
import type { AdamWState } from '../optimizer';
import { lrFindAt } from '../schedule';
import { disposeState, snapshotState } from '../state';
import { suggestLrs } from '../suggestions';
import type { LrFindResult } from '../types';

export class LrFinder implements Callback {
  /** After the Recorder (reads the smoothed loss) and ProgressEvents (the last batch is still reported). */
  readonly order = 50;
  result: LrFindResult | null = null;
  private best = Infinity;
  private saved: { weights: Map<string, tf.Tensor>; opt: AdamWState } | null = null;

  constructor(
    private readonly startLrs: number[],
    private readonly endLrs: number[],
    private readonly numIt: number,
    private readonly stopDiv: boolean,
  ) {}

  beforeFit(ctx: RunContext): void {
    this.saved = { weights: snapshotState(ctx.learner.model), opt: ctx.learner.opt.getState() };
    ctx.learner.opt.setMom(0.9); // a plain fit's beta1, as after fastai's create_opt
    this.best = Infinity;
    this.result = null;
  }

  beforeBatch(ctx: RunContext): void {
    if (ctx.training) ctx.learner.opt.lrs = lrFindAt(this.startLrs, this.endLrs, this.numIt, ctx.step);
  }

  afterBatch(ctx: RunContext): void {
    if (!ctx.training) return;
    const s = ctx.smoothLoss;
    if (ctx.step === 0 || s < this.best) this.best = s;
    if (ctx.step + 1 >= this.numIt || (this.stopDiv && (Number.isNaN(s) || s > 4 * this.best))) throw new CancelFitException();
  }

  beforeValidate(): void {
    throw new CancelValidException();
  }

  /** The sweep ended (numIt reached, diverged or stopped): restore before fit_end goes out. */
  afterCancelFit(ctx: RunContext): void {
    this.restore(ctx);
  }

  afterFit(ctx: RunContext): void {
    this.restore(ctx);
  }

  private restore(ctx: RunContext): void {
    const saved = this.saved;
    if (!saved) return;
    this.saved = null;
    try {
      ctx.learner.model.loadStateDict(saved.weights);
      ctx.learner.opt.setState(saved.opt);
    } finally {
      disposeState(saved.weights);
      disposeState(saved.opt.expAvg);
      disposeState(saved.opt.expAvgSq);
    }
    this.result = this.curve(ctx);
    ctx.lrFindResult = this.result;
  }

  private curve(ctx: RunContext): LrFindResult {
    const rec = ctx.learner.recorder;
    const all = rec.lastGroupLrs;
    const suggestions = suggestLrs(all, rec.smoothLosses, this.numIt);
    const lrs: number[] = [];
    const losses: number[] = [];
    all.forEach((lr, i) => {
      const l = rec.smoothLosses[i];
      if (Number.isFinite(l)) {
        lrs.push(lr);
        losses.push(l);
      }
    });
    return { lrs, losses, suggestions };
  }
}
