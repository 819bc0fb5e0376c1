// fastai v2's TrackerCallback family (callback/tracker.py): keep the best value of a monitored
// epoch metric; EarlyStoppingCallback ends the fit after `patience` epochs without improvement,
// SaveModelCallback saves the best model and loads it back at the end, ReduceLROnPlateau divides
// the lr by `factor` after `patience` epochs without improvement (for plain fit: a one-cycle
// schedule would overwrite it on the next batch).
import { promises as fs } from 'fs';
import * as path from 'path';
import { makeFolders } from '../../io/make-folders';
import { LearnerError } from '../errors';
import { CancelFitException, type Callback, type RunContext } from '../callback';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import type { EpochRecord } from '../types';

export const MONITORS = ['valid_loss', 'train_loss', 'error_rate', 'accuracy'] as const;
export type Monitor = (typeof MONITORS)[number];

const FIELD: Record<Monitor, keyof EpochRecord> = { valid_loss: 'validLoss', train_loss: 'trainLoss', error_rate: 'errorRate', accuracy: 'accuracy' };

export interface TrackerOptions {
  monitor?: Monitor; // valid_loss
  /** v2's comp: 'less' (np.less) for losses and errors, 'greater' (np.greater) otherwise. */
  comp?: 'less' | 'greater';
  /** Smallest change that counts as an improvement. */
  minDelta?: number; // 0
  /** Start from a fresh best at each fit (false: a later fit must beat the earlier fits' best). */
  resetOnFit?: boolean; // true
}

/**
 * v2's TrackerCallback: after each epoch, newBest says whether the monitored value beat best by
 * more than minDelta. Subclasses act on it in onEpoch; nothing is tracked during lr_find.
 */
export abstract class TrackerCallback implements Callback {
  /** After the Recorder has the epoch's row and ProgressEvents has sent it (a cancel here keeps the row). */
  readonly order = 45;
  readonly monitor: Monitor;
  readonly comp: 'less' | 'greater';
  readonly resetOnFit: boolean;
  best = NaN;
  newBest = false;
  private readonly minDelta: number;
  private active = true;

  constructor(opts: TrackerOptions = {}) {
    this.monitor = opts.monitor ?? 'valid_loss';
    // Library callers reach these (the CLI and the child check their flags first): say which option and what it takes.
    if (!MONITORS.includes(this.monitor)) {
      throw new LearnerError(`Unknown monitor '${String(this.monitor)}'`, { fix: `Pass monitor (saveBest) as one of ${MONITORS.join(', ')}` });
    }
    this.comp = opts.comp ?? (/loss|error/.test(this.monitor) ? 'less' : 'greater');
    this.minDelta = this.comp === 'less' ? -(opts.minDelta ?? 0) : (opts.minDelta ?? 0);
    this.resetOnFit = opts.resetOnFit ?? true;
  }

  beforeFit(ctx: RunContext): void {
    this.active = ctx.kind !== 'lr_find';
    if (this.resetOnFit || Number.isNaN(this.best)) this.best = this.comp === 'less' ? Infinity : -Infinity;
    this.newBest = false;
    this.onFitStart(ctx);
  }

  afterEpoch(ctx: RunContext): void | Promise<void> {
    if (!this.active) return;
    const row = ctx.learner.recorder.epochs.at(-1);
    const v = row?.[FIELD[this.monitor]];
    this.newBest = typeof v === 'number' && Number.isFinite(v) && (this.comp === 'less' ? v - this.minDelta < this.best : v - this.minDelta > this.best);
    if (this.newBest) this.best = v as number;
    return this.onEpoch(ctx);
  }

  protected get tracking(): boolean {
    return this.active;
  }

  protected onFitStart(_ctx: RunContext): void {}
  protected abstract onEpoch(ctx: RunContext): void | Promise<void>;
}

/** The wait/patience count EarlyStopping and ReduceLROnPlateau share: onPatienceLost after `patience` epochs without a new best. */
export abstract class PatienceTracker extends TrackerCallback {
  readonly patience: number;
  protected wait = 0;

  constructor(opts: TrackerOptions & { patience?: number } = {}) {
    super(opts);
    this.patience = opts.patience ?? 1;
    if (!Number.isInteger(this.patience) || this.patience < 1) {
      throw new LearnerError(`patience must be a whole number ≥ 1, got ${String(opts.patience)}`, {
        fix: 'Pass patience (earlyStop, reduceLrOnPlateau) as a whole number of epochs, 1 or more',
      });
    }
  }

  protected override onFitStart(): void {
    this.wait = 0;
  }

  protected onEpoch(ctx: RunContext): void {
    if (this.newBest) {
      this.wait = 0;
      return;
    }
    this.wait += 1;
    if (this.wait >= this.patience) this.onPatienceLost(ctx);
  }

  protected abstract onPatienceLost(ctx: RunContext): void;
}

export class EarlyStoppingCallback extends PatienceTracker {
  protected onPatienceLost(ctx: RunContext): void {
    ctx.learner.log('info', `No improvement since epoch ${ctx.epoch - this.wait}: early stopping`);
    throw new CancelFitException();
  }
}

export class SaveModelCallback extends TrackerCallback {
  readonly fname: string;
  private readonly withOpt: boolean;
  private saved = false;
  constructor(opts: TrackerOptions & { fname?: string; withOpt?: boolean } = {}) {
    super(opts);
    this.fname = opts.fname ?? 'model';
    this.withOpt = opts.withOpt ?? false;
  }

  protected override onFitStart(): void {
    this.saved = false;
  }

  protected async onEpoch(ctx: RunContext): Promise<void> {
    if (!this.newBest) return;
    ctx.learner.log('info', `Better model found at epoch ${ctx.epoch} with ${this.monitor} value: ${this.best}.`);
    await saveCheckpoint(this.file(ctx), ctx.learner);
    this.saved = true;
  }

  /** Loads the best model back (not after a failed run: its error is what the caller needs). */
  async afterFit(ctx: RunContext): Promise<void> {
    if (!this.tracking || !this.saved || ctx.status === 'failed') return;
    await loadCheckpoint(this.file(ctx), ctx.learner, { withOpt: this.withOpt });
  }

  private file(ctx: RunContext): string {
    return ctx.learner.checkpointFile(this.fname);
  }
}

export class ReduceLROnPlateau extends PatienceTracker {
  private readonly factor: number;
  private readonly minLr: number;
  constructor(opts: TrackerOptions & { patience?: number; factor?: number; minLr?: number } = {}) {
    super(opts);
    this.factor = opts.factor ?? 10;
    this.minLr = opts.minLr ?? 0;
    // lr / factor: a factor ≤ 1 would raise the lr (or make it infinite) instead of reducing it.
    if (!Number.isFinite(this.factor) || this.factor <= 1) {
      throw new LearnerError(`ReduceLROnPlateau factor must be a number > 1, got ${String(opts.factor)}`, { fix: 'Pass factor > 1 (the lr is divided by it; fastai uses 10)' });
    }
    if (!Number.isFinite(this.minLr) || this.minLr < 0) {
      throw new LearnerError(`ReduceLROnPlateau minLr must be a number ≥ 0, got ${String(opts.minLr)}`, { fix: 'Pass minLr ≥ 0 (0 = no floor)' });
    }
  }

  protected onPatienceLost(ctx: RunContext): void {
    const opt = ctx.learner.opt;
    const old = opt.lrs[opt.lrs.length - 1];
    opt.lrs = opt.lrs.map((lr) => Math.max(lr / this.factor, this.minLr));
    this.wait = 0;
    if (opt.lrs[opt.lrs.length - 1] < old) ctx.learner.log('info', `Epoch ${ctx.epoch}: reducing lr to ${opt.lrs[opt.lrs.length - 1]}`);
  }
}

/** fastai CSVLogger: the epoch table as learn.path/history.csv, one row appended per epoch. */
export class CSVLogger implements Callback {
  readonly order = 45;
  constructor(private readonly fname = 'history.csv') {}
  private file = '';

  async beforeFit(ctx: RunContext): Promise<void> {
    this.file = '';
    if (ctx.kind === 'lr_find') return;
    this.file = path.join(ctx.learner.path, this.fname);
    await makeFolders(path.dirname(this.file));
    await fs.writeFile(this.file, 'epoch,train_loss,valid_loss,error_rate,accuracy,time,phase\n');
  }

  async afterEpoch(ctx: RunContext): Promise<void> {
    const r = ctx.learner.recorder.epochs.at(-1);
    if (!this.file || !r) return;
    const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));
    await fs.appendFile(this.file, [r.epoch, num(r.trainLoss), num(r.validLoss), num(r.errorRate), num(r.accuracy), r.seconds.toFixed(3), r.phase ?? ''].join(',') + '\n');
  }
}
