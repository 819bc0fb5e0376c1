// fastai MixedPrecision: dynamic loss scaling. The loss the gradients come from is multiplied by
// the scale; before the step the gradients are checked and unscaled, and a step with an overflow
// is skipped (CancelStepException) while the scaler backs off.
import { tf } from '../../backend';
import { CancelStepException, type Callback, type RunContext } from '../callback';
import { DynamicLossScaler, type LossScalerOptions } from '../loss-scaler';

export class MixedPrecision implements Callback {
  readonly order = 0;
  readonly scaler: DynamicLossScaler;
  constructor(opts: LossScalerOptions = {}) {
    this.scaler = new DynamicLossScaler(opts);
  }

  beforeBatch(ctx: RunContext): void {
    ctx.lossScale = ctx.training ? this.scaler.scale : 1;
  }

  async beforeStep(ctx: RunContext): Promise<void> {
    const grads = ctx.grads;
    if (!grads) return;
    const finite = tf.tidy(() => tf.all(tf.stack(Object.values(grads).map((g) => tf.all(tf.isFinite(g))))));
    const ok = (await finite.data())[0] === 1;
    finite.dispose();
    if (!this.scaler.update(ok, ctx.step)) throw new CancelStepException();
    if (ctx.lossScale === 1) return;
    for (const k of Object.keys(grads)) {
      const g = grads[k];
      grads[k] = tf.div(g, ctx.lossScale);
      g.dispose();
    }
  }

  afterBatch(ctx: RunContext): void {
    ctx.lossScale = 1;
  }
}
