// fastai's accuracy and error_rate (= 1 − accuracy) metrics over the validation set.
import type { Callback, RunContext } from '../callback';

export class AccuracyMetric implements Callback {
  readonly order = 0;
  private correct = 0;
  private total = 0;

  beforeValidate(): void {
    this.correct = 0;
    this.total = 0;
  }

  afterBatch(ctx: RunContext): void {
    const out = ctx.out;
    if (ctx.training || !out) return;
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
