// fastai v2's TrackerCallback family (callback/tracker.py): keep the best value of a monitored
// epoch metric; EarlyStoppingCallback ends the fit after `patience` epochs without improvement,
// SaveModelCallback saves the best model and loads it back at the end, ReduceLROnPlateau divides
// the lr by `factor` after `patience` epochs without improvement (for plain fit: a one-cycle
// schedule would overwrite it on the next batch).
import { promises as fs } from 'fs';
import * as path from 'path';
import { CancelFitException, type Callback, type RunContext } from '../callback';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import type { EpochRecord } from '../types';

export const MONITORS = ['valid_loss', 'train_loss', 'error_rate', 'accuracy'] as const;
export type Monitor = (typeof MONITORS)[number];

const FIELD: Record<Monitor, keyof EpochRecord> = { valid_loss: 'validLoss', train_loss: 'trainLoss', error_rate: 'errorRate', accuracy: 'accuracy' };

export interface TrackerOptions {
  monitor?: Monitor; // valid_loss
  /** Smallest change that counts as an improvement. */
  minDelta?: number; // 0
}

export abstract class TrackerCallback implements Callback {
  /** After the Recorder has the epoch's row and ProgressEvents has sent it (a cancel here keeps the row). */
  readonly order = 45;
  readonly monitor: Monitor;
  best = NaN;
  newBest = false;
  /** v2: np.less for losses and errors, np.greater otherwise. */
  private readonly lower: boolean;
  private readonly minDelta: number;
  protected active = true;

  constructor(opts: TrackerOptions = {}) {
    this.monitor = opts.monitor ?? 'valid_loss';
    if (!MONITORS.includes(this.monitor)) throw new Error(`Unknown monitor '${this.monitor}': use one of ${MONITORS.join(', ')}`);
    this.lower = /loss|error/.test(this.monitor);
    this.minDelta = this.lower ? -(opts.minDelta ?? 0) : (opts.minDelta ?? 0);
  }

  beforeFit(ctx: RunContext): void {
    this.active = ctx.kind !== 'lr_find';
    this.best = this.lower ? Infinity : -Infinity;
    this.newBest = false;
  }

  afterEpoch(ctx: RunContext): void | Promise<void> {
    if (!this.active) return;
    const row = ctx.learner.recorder.epochs.at(-1);
    const v = row?.[FIELD[this.monitor]];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.newBest = false;
      return;
    }
    const better = this.lower ? v - this.minDelta < this.best : v - this.minDelta > this.best;
    this.newBest = better;
    if (better) this.best = v;
  }
}

export class EarlyStoppingCallback extends TrackerCallback {
  private wait = 0;
  constructor(opts: TrackerOptions & { patience?: number } = {}) {
    super(opts);
    this.patience = opts.patience ?? 1;
  }
  private readonly patience: number;

  override beforeFit(ctx: RunContext): void {
    this.wait = 0;
    super.beforeFit(ctx);
  }

  override afterEpoch(ctx: RunContext): void {
    if (!this.active) return;
    super.afterEpoch(ctx);
    if (this.newBest) {
      this.wait = 0;
      return;
    }
    this.wait += 1;
    if (this.wait >= this.patience) {
      ctx.learner.log('info', `No improvement since epoch ${ctx.epoch - this.wait}: early stopping`);
      throw new CancelFitException();
    }
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

  override beforeFit(ctx: RunContext): void {
    this.saved = false;
    super.beforeFit(ctx);
  }

  override async afterEpoch(ctx: RunContext): Promise<void> {
    if (!this.active) return;
    super.afterEpoch(ctx);
    if (!this.newBest) return;
    ctx.learner.log('info', `Better model found at epoch ${ctx.epoch} with ${this.monitor} value: ${this.best}.`);
    await saveCheckpoint(this.file(ctx), ctx.learner);
    this.saved = true;
  }

  /** Loads the best model back (not after a failed run: its error is what the caller needs). */
  async afterFit(ctx: RunContext): Promise<void> {
    if (!this.active || !this.saved || ctx.status === 'failed') return;
    await loadCheckpoint(this.file(ctx), ctx.learner, { withOpt: this.withOpt });
  }

  private file(ctx: RunContext): string {
    return ctx.learner.checkpointFile(this.fname);
  }
}

export class ReduceLROnPlateau extends TrackerCallback {
  private wait = 0;
  private readonly patience: number;
  private readonly factor: number;
  private readonly minLr: number;
  constructor(opts: TrackerOptions & { patience?: number; factor?: number; minLr?: number } = {}) {
    super(opts);
    this.patience = opts.patience ?? 1;
    this.factor = opts.factor ?? 10;
    this.minLr = opts.minLr ?? 0;
  }

  override beforeFit(ctx: RunContext): void {
    this.wait = 0;
    super.beforeFit(ctx);
  }

  override afterEpoch(ctx: RunContext): void {
    if (!this.active) return;
    super.afterEpoch(ctx);
    if (this.newBest) {
      this.wait = 0;
      return;
    }
    this.wait += 1;
    if (this.wait < this.patience) return;
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
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await fs.writeFile(this.file, 'epoch,train_loss,valid_loss,error_rate,accuracy,time,phase\n');
  }

  async afterEpoch(ctx: RunContext): Promise<void> {
    const r = ctx.learner.recorder.epochs.at(-1);
    if (!this.file || !r) return;
    const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));
    await fs.appendFile(this.file, [r.epoch, num(r.trainLoss), num(r.validLoss), num(r.errorRate), num(r.accuracy), r.seconds.toFixed(3), r.phase ?? ''].join(',') + '\n');
  }
}
