// fit_one_cycle's schedule: lr and momentum per training batch from the two cosine phases.
import type { Callback, RunContext } from '../callback';
import { oneCycleAt, type OneCycleParams } from '../schedule';

export class OneCycleScheduler implements Callback {
  readonly order = 0;
  constructor(private readonly params: Omit<OneCycleParams, 'totalSteps'>) {}
  beforeBatch(ctx: RunContext): void {
    if (!ctx.training) return;
    const v = oneCycleAt({ ...this.params, totalSteps: ctx.totalSteps }, ctx.step);
    ctx.learner.opt.lrs = v.lrs;
    ctx.learner.opt.setMom(v.mom);
  }
}
