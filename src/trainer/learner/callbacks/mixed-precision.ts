// fastai MixedPrecision (v2.7's amp_mode 'fp16' | 'bf16'): for the fit, the torch backend computes
// convolutions and matmuls in half precision while the weights, the loss, reductions and the
// optimiser stay fp32 (autocast semantics); afterFit puts fp32 back, also after a stop or an
// error. fp16 adds dynamic loss scaling: the loss the gradients come from is multiplied by the
// scale; before the step the gradients are checked and unscaled, and a step with an overflow is
// skipped (CancelStepException) while the scaler backs off. bf16 has fp32's exponent range and
// needs no scaling. Off torch the precision switch does nothing (the loss scaling still runs).
import { setTorchComputePrecision, tf } from '../../backend';
import { CancelStepException, type Callback, type RunContext } from '../callback';
import { DynamicLossScaler, type LossScalerOptions } from '../loss-scaler';

export type AmpMode = 'fp16' | 'bf16';

export interface MixedPrecisionOptions extends LossScalerOptions {
  /** fastai amp_mode; 'fp16' by default, as fastai's. */
  ampMode?: AmpMode;
}

export class MixedPrecision implements Callback {
  readonly order = 0;
  readonly ampMode: AmpMode;
  /** fp16's dynamic loss scaler; null for bf16. */
  readonly scaler: DynamicLossScaler | null;
  constructor(opts: MixedPrecisionOptions = {}) {
    this.ampMode = opts.ampMode ?? 'fp16';
    this.scaler = this.ampMode === 'fp16' ? new DynamicLossScaler(opts) : null;
  }

  beforeFit(): void {
    setTorchComputePrecision(this.ampMode);
  }

  afterFit(): void {
    setTorchComputePrecision('fp32');
  }

  beforeBatch(ctx: RunContext): void {
    ctx.lossScale = ctx.training && this.scaler ? this.scaler.scale : 1;
  }

  async beforeStep(ctx: RunContext): Promise<void> {
    const grads = ctx.grads;
    if (!grads || !this.scaler) return;
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
