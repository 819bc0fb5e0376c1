// fastai's TerminateOnNaNCallback, stricter: a training loss that is NaN or ±Inf, or weights that are
// no longer finite at the end of an epoch, end the run as failed with a message that suggests a lower
// learning rate — so the CLI never saves or exports the broken model as if it were good. lr_find is
// exempt: its sweep diverges on purpose and the LrFinder stops it.
import { tf } from '../../backend';
import type { Callback, RunContext } from '../callback';
import { LearnerError } from '../errors';

export class TerminateOnNaN implements Callback {
  /** After the loss is known, before any other callback records or schedules with it. */
  readonly order = -5;

  afterLoss(ctx: RunContext): void {
    if (!ctx.training || ctx.kind === 'lr_find' || Number.isFinite(ctx.loss)) return;
    throw diverged(ctx, `the training loss became ${ctx.loss} at epoch ${ctx.epoch + 1}, batch ${ctx.iter + 1}`);
  }

  afterEpoch(ctx: RunContext): void {
    if (ctx.kind === 'lr_find') return;
    const bad = firstNonFinite(ctx);
    if (bad) throw diverged(ctx, `the weights of ${bad} are no longer finite after epoch ${ctx.epoch + 1}`);
  }
}

function firstNonFinite(ctx: RunContext): string | undefined {
  for (const p of ctx.learner.model.params) {
    const finite = tf.tidy(() => tf.all(tf.isFinite(p.variable)).dataSync()[0]);
    if (!finite) return p.name;
  }
  return undefined;
}

function diverged(ctx: RunContext, what: string): LearnerError {
  const lr = ctx.maxLrs.length ? Math.max(...ctx.maxLrs) : undefined;
  const lower = lr !== undefined ? ` (e.g. ${(lr / 10).toExponential(0)} instead of ${lr.toExponential(0)})` : '';
  return new LearnerError(`Training diverged: ${what}. The model was not kept as a good one`, {
    fix: `Train again with a lower learning rate${lower}; run lr_find to pick one. Load the last checkpoint saved before this run to continue from good weights`,
  });
}
