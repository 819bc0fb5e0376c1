// A training pass in which no batch could be built (every image failed to decode) is an error that
// lists the files, instead of an epoch row of 1.797e+308 and an exported untrained model.
import type { Callback, RunContext } from '../callback';
import { LearnerError } from '../errors';

export class RequireBatches implements Callback {
  readonly order = 0;
  private trained = 0;

  beforeTrain(): void {
    this.trained = 0;
  }

  afterBatch(ctx: RunContext): void {
    if (ctx.training) this.trained++;
  }

  afterTrain(ctx: RunContext): void {
    if (this.trained > 0) return;
    const skipped = ctx.learner.data.skippedWhileLoading ?? [];
    const shown = skipped.slice(0, 10).map((s) => `${s.file} (${s.reason})`).join('; ');
    const more = skipped.length > 10 ? `; … and ${skipped.length - 10} more` : '';
    throw new LearnerError(
      skipped.length
        ? `No training batch could be built in epoch ${ctx.epoch + 1}: every image failed to decode: ${shown}${more}`
        : `No training batch could be built in epoch ${ctx.epoch + 1}: the training loader yielded no images`,
      {
        ...(skipped[0] ? { file: skipped[0].file } : {}),
        fix: 'Replace or remove the files listed (they are not readable images), then train again',
      },
    );
  }
}
