// Emits the protocol's run events (src/protocol/events.ts) through the learner's onEvent.
import type { TrainerEvent } from '../../../protocol/events';
import type { Callback, RunContext } from '../callback';

export class ProgressEvents implements Callback {
  /** After the Recorder (epoch rows, smoothed loss). */
  readonly order = 40;
  constructor(private readonly emit: (e: TrainerEvent) => void) {}

  beforeFit(ctx: RunContext): void {
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
      ...(ctx.frozenEpochs !== undefined ? { frozenEpochs: ctx.frozenEpochs } : {}),
    });
  }

  afterBatch(ctx: RunContext): void {
    // The protocol's numbers are finite; a diverged batch is visible in the recorder instead.
    if (!ctx.training || !Number.isFinite(ctx.loss) || !Number.isFinite(ctx.smoothLoss)) return;
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

  afterFit(ctx: RunContext): void {
    if (ctx.lrFindResult) this.emit({ type: 'lr_find_result', runId: ctx.runId, ...ctx.lrFindResult });
    this.emit({ type: 'fit_end', runId: ctx.runId, kind: ctx.kind, status: ctx.status, ...(ctx.error ? { error: ctx.error.message } : {}), frozenTo: ctx.learner.frozenTo });
  }
}

function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}
