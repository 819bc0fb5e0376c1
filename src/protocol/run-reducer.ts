// Trainer events → one run's record, written once. The extension's run history, the CLI's
// metrics.json, the comparison panel's summaries and the training webview all fold a run's events
// with reduceRun. Pure (no I/O, no clock), so replaying the same events gives the same record.
import type { TrainerEvent, TrainerEventOf } from './events';
import type { EpochRecord, LrFindResult, RunKind, RunStatus } from './runs';

/**
 * Per received batch, in step order, as parallel arrays (what a plot takes). With `maxPoints` the
 * curve is thinned to every `stride`-th step: past the limit every other point goes and the stride
 * doubles (the run history keeps such a curve so a run redraws after a reload).
 */
export interface RunCurves {
  stride: number;
  maxPoints?: number;
  step: number[];
  loss: number[];
  smoothLoss: number[];
  /** The last layer group's lr. */
  lr: number[];
  mom: number[];
}

export interface RunState {
  runId: string;
  kind: RunKind;
  status: RunStatus;
  error?: string;
  epochs: number;
  batchesPerEpoch: number;
  totalBatches: number;
  /** Max lr per layer group. */
  lrs: number[];
  /** First trainable layer group (0 = unfrozen). */
  frozenTo: number;
  layerGroups: number;
  /** fine_tune: how many of `epochs` ran with the body frozen. */
  frozenEpochs?: number;
  /** Last batch seen: step within the run, position, smoothed loss, lr per group. */
  lastStep: number;
  at?: { epoch: number; iter: number };
  lastSmoothLoss?: number;
  lastLrs: number[];
  /** One record per epoch, in epoch order (a replayed epoch replaces its record). */
  epochRows: EpochRecord[];
  lrFind?: LrFindResult;
  /** Kept only when the run was begun with the curves option. */
  curves?: RunCurves;
}

/** What an event changed, so a view redraws only that. */
export interface RunChange {
  curves?: boolean;
  table?: boolean;
  header?: boolean;
}

type RunEvent = Extract<TrainerEvent, { runId: string }>;

export function isRunEvent(e: TrainerEvent): e is RunEvent {
  return 'runId' in e && typeof (e as { runId?: unknown }).runId === 'string';
}

/** `curves`: keep every batch (true) or a curve thinned to at most maxPoints. */
export interface RunCurveOptions {
  curves?: boolean | { maxPoints: number };
}

const CURVE_KEYS = ['step', 'loss', 'smoothLoss', 'lr', 'mom'] as const;

export function beginRun(e: TrainerEventOf<'fit_begin'>, opts: RunCurveOptions = {}): RunState {
  const c = opts.curves;
  return {
    runId: e.runId,
    kind: e.kind,
    status: 'running',
    epochs: e.epochs,
    batchesPerEpoch: e.batchesPerEpoch,
    totalBatches: e.totalBatches,
    lrs: e.lrs,
    frozenTo: e.frozenTo,
    layerGroups: e.layerGroups,
    ...(e.frozenEpochs !== undefined ? { frozenEpochs: e.frozenEpochs } : {}),
    lastStep: -1,
    lastLrs: e.lrs,
    epochRows: [],
    ...(c ? { curves: { stride: 1, ...(typeof c === 'object' ? { maxPoints: c.maxPoints } : {}), step: [], loss: [], smoothLoss: [], lr: [], mom: [] } } : {}),
  };
}

/**
 * What a run did, as a person names it: "fit_one_cycle 2 ep", "fine_tune 2 ep + 1 frozen" (the
 * epochs fine_tune was asked for, then its frozen ones), "lr_find".
 */
export function runWhat(run: Pick<RunState, 'kind' | 'epochs' | 'frozenEpochs'>): string {
  if (run.kind === 'lr_find') return 'lr_find';
  const frozen = run.frozenEpochs ?? 0;
  return frozen > 0 ? `${run.kind} ${run.epochs - frozen} ep + ${frozen} frozen` : `${run.kind} ${run.epochs} ep`;
}

/** Folds one event into the run (events of other runs and without a run change nothing). */
export function reduceRun(run: RunState, e: TrainerEvent): RunChange {
  if (!isRunEvent(e) || e.runId !== run.runId) return {};
  switch (e.type) {
    case 'batch': {
      const c = run.curves;
      if (c) {
        const n = c.step.length;
        if (n === 0 || e.step > (c.step[n - 1] as number)) {
          if (e.step % c.stride === 0) {
            c.step.push(e.step);
            c.loss.push(e.loss);
            c.smoothLoss.push(e.smoothLoss);
            c.lr.push(e.lrs[e.lrs.length - 1] ?? NaN);
            c.mom.push(e.mom);
            if (c.maxPoints !== undefined && c.step.length > c.maxPoints) thin(c);
          }
        } else {
          const i = c.step.indexOf(e.step); // a replayed duplicate: overwrite in place
          if (i < 0) return {};
          c.loss[i] = e.loss;
          c.smoothLoss[i] = e.smoothLoss;
        }
      }
      if (e.step >= run.lastStep) {
        run.lastStep = e.step;
        run.at = { epoch: e.epoch, iter: e.iter };
        run.lastSmoothLoss = e.smoothLoss;
        run.lastLrs = e.lrs;
      }
      return { curves: true, header: true };
    }
    case 'epoch': {
      const { type: _type, runId: _runId, ...row } = e;
      const i = run.epochRows.findIndex((r) => r.epoch === row.epoch);
      if (i >= 0) run.epochRows[i] = row;
      else {
        run.epochRows.push(row);
        run.epochRows.sort((a, b) => a.epoch - b.epoch);
      }
      return { curves: true, table: true, header: true };
    }
    case 'lr_find_result':
      run.lrFind = { lrs: e.lrs, losses: e.losses, suggestions: e.suggestions };
      return { curves: true, header: true };
    case 'fit_end':
      run.status = e.status;
      if (e.error !== undefined) run.error = e.error;
      return { header: true };
    default:
      return {};
  }
}

function thin(c: RunCurves): void {
  c.stride *= 2;
  const keep = c.step.map((step) => step % c.stride === 0);
  for (const k of CURVE_KEYS) c[k] = c[k].filter((_, i) => keep[i]);
}

/** The run of `events` (its fit_begin first), or undefined when they hold no fit_begin. */
export function runFromEvents(events: readonly TrainerEvent[], opts: RunCurveOptions = {}): RunState | undefined {
  const begin = events.find((e): e is TrainerEventOf<'fit_begin'> => e.type === 'fit_begin');
  if (!begin) return undefined;
  const run = beginRun(begin, opts);
  for (const e of events) reduceRun(run, e);
  return run;
}

/** Latest lr_find suggestion of a run (valley, else min gradient). */
export function suggestedLr(run: Pick<RunState, 'lrFind'>): number | undefined {
  const s = run.lrFind?.suggestions;
  const v = s?.valley ?? s?.minGrad;
  return v != null && Number.isFinite(v) ? v : undefined;
}
