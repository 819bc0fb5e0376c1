// fastai v2 fine_tune as one run: freeze, one-cycle for freezeEpochs at slice(base_lr) with
// pct_start 0.99, then unfreeze (a fresh optimiser state, as v2's freeze_to clears it) and
// one-cycle for epochs at slice(base_lr/2/lr_mult, base_lr/2) with pct_start and div. Each phase
// is its own v2 fit_one_cycle schedule (div_final 1e5, moms 0.95/0.85/0.95), positioned by the
// phase's own batch count.
import type { Callback, RunContext } from '../callback';
import { oneCycleV2At, type V2OneCycleParams } from '../schedule';

export type FineTunePhase = 'frozen' | 'unfrozen';

export interface FineTunePlan {
  freezeEpochs: number;
  frozen: V2OneCycleParams;
  unfrozen: V2OneCycleParams;
}

export class FineTuneSchedule implements Callback {
  readonly order = 0;
  constructor(private readonly plan: FineTunePlan) {}

  beforeFit(ctx: RunContext): void {
    ctx.frozenEpochs = this.plan.freezeEpochs;
    if (this.plan.freezeEpochs > 0) this.enter(ctx, 'frozen');
  }

  beforeEpoch(ctx: RunContext): void {
    if (ctx.epoch === this.plan.freezeEpochs) this.enter(ctx, 'unfrozen');
  }

  beforeBatch(ctx: RunContext): void {
    if (!ctx.training) return;
    const frozen = ctx.phase === 'frozen';
    const phaseEpochs = frozen ? this.plan.freezeEpochs : ctx.nEpochs - this.plan.freezeEpochs;
    const first = frozen ? 0 : this.plan.freezeEpochs * ctx.batchesPerEpoch;
    const v = oneCycleV2At(frozen ? this.plan.frozen : this.plan.unfrozen, (ctx.step - first) / (phaseEpochs * ctx.batchesPerEpoch));
    ctx.learner.opt.lrs = v.lrs;
    ctx.learner.opt.setMom(v.mom);
  }

  private enter(ctx: RunContext, phase: FineTunePhase): void {
    ctx.phase = phase;
    ctx.learner.setTrainableFrom(phase === 'frozen' ? ctx.learner.layerGroupCount - 1 : 0);
  }
}
