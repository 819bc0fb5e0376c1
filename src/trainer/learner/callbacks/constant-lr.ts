// fit's schedule: the same lr for every batch, momentum = the optimiser's default beta1.
import type { Callback, RunContext } from '../callback';

export class ConstantLr implements Callback {
  readonly order = 0;
  constructor(private readonly lrs: number[], private readonly mom = 0.9) {}
  beforeFit(ctx: RunContext): void {
    ctx.learner.opt.lrs = [...this.lrs];
    ctx.learner.opt.setMom(this.mom);
  }
}
