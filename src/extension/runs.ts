// Run history: one record per fit / lr_find, built from the trainer's events and persisted per
// workspace (a Memento-like store) so it survives reloads and trainer crashes. Plain Node.
import type { TrainerEvent, TrainerEventOf } from '../protocol/events';
import type { EpochRecord } from '../trainer/learner/types';

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed';

/** One epoch as the run history keeps it: the learner's record without the throughput figure. */
export type EpochRow = Omit<EpochRecord, 'trainImagesPerSecond'>;

export interface RunRecord {
  runId: string;
  kind: 'fit' | 'fit_one_cycle' | 'lr_find';
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  error?: string;
  epochs: number;
  batchesPerEpoch: number;
  totalBatches: number;
  lrs: number[];
  frozenTo: number;
  layerGroups: number;
  /** Last batch seen (step within the run) and its smoothed loss. */
  lastStep: number;
  lastSmoothLoss?: number;
  epochRows: EpochRow[];
  lrFind?: { lrs: number[]; losses: number[]; suggestions: { minGrad: number | null; valley: number | null } };
  /** The batch curve, thinned to at most MAX_CURVE_POINTS (every `stride`-th step), so a run redraws after a reload. */
  curve?: LossCurve;
  /** Free-form context captured when the run started (dataset root, arch). */
  context?: Record<string, string>;
}

export interface LossCurve {
  stride: number;
  steps: number[];
  loss: number[];
  smooth: number[];
  /** lr of the last layer group, and momentum, per kept step. */
  lr: number[];
  mom: number[];
  /** Every group's lr at the last kept step. */
  lastLrs?: number[];
}

/** Kept points per run curve: enough to draw it, small enough for workspaceState. */
export const MAX_CURVE_POINTS = 512;

/** Adds a batch to a run's kept curve: every stride-th step; past the limit, every other point goes and the stride doubles. */
export function keepCurvePoint(c: LossCurve, b: TrainerEventOf<'batch'>): void {
  if (b.step % c.stride !== 0) return;
  c.steps.push(b.step);
  c.loss.push(b.loss);
  c.smooth.push(b.smoothLoss);
  c.lr.push(b.lrs[b.lrs.length - 1] ?? NaN);
  c.mom.push(b.mom);
  c.lastLrs = b.lrs;
  if (c.steps.length <= MAX_CURVE_POINTS) return;
  c.stride *= 2;
  const keep = c.steps.map((step) => step % c.stride === 0);
  for (const k of ['steps', 'loss', 'smooth', 'lr', 'mom'] as const) c[k] = c[k].filter((_, i) => keep[i]);
}

/** The subset of vscode.Memento the store needs. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

const HISTORY_KEY = 'imageTrainer.runs';
const MAX_RUNS = 50;
/** Events kept in memory per run so a panel opened mid-run can catch up. */
const MAX_EVENTS_PER_RUN = 20000;

export class RunStore {
  private runs: RunRecord[];
  private readonly events = new Map<string, TrainerEvent[]>();
  private readonly listeners = new Set<(run: RunRecord | undefined) => void>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {
    const saved = store.get<RunRecord[]>(HISTORY_KEY);
    this.runs = Array.isArray(saved) ? saved.filter(isRunRecord) : [];
    // A run still "running" in storage was cut short by a reload or a crash of VS Code itself.
    let changed = false;
    for (const r of this.runs)
      if (r.status === 'running') {
        r.status = 'failed';
        r.error = 'interrupted: VS Code was closed or reloaded during the run';
        changed = true;
      }
    if (changed) void this.persist();
  }

  /** Newest first. */
  list(): readonly RunRecord[] {
    return [...this.runs].sort((a, b) => b.startedAt - a.startedAt);
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.find((r) => r.runId === runId);
  }

  get active(): RunRecord | undefined {
    return this.runs.find((r) => r.status === 'running');
  }

  /** The events this session saw for a run (empty for runs loaded from history). */
  eventsOf(runId: string): readonly TrainerEvent[] {
    return this.events.get(runId) ?? [];
  }

  /** Latest lr_find suggestion (valley, else min gradient), for pre-filling Fit One Cycle. */
  lastSuggestion(): number | undefined {
    for (const r of this.list()) {
      const s = r.lrFind?.suggestions;
      const v = s?.valley ?? s?.minGrad;
      if (v != null && Number.isFinite(v)) return v;
    }
    return undefined;
  }

  onDidChange(listener: (run: RunRecord | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Feeds one trainer event (unthrottled). Returns the run it touched, if any. */
  apply(event: TrainerEvent, context?: Record<string, string>): RunRecord | undefined {
    if (!('runId' in event)) return undefined;
    let run = this.get(event.runId);
    if (event.type === 'fit_begin') {
      run = this.begin(event, context);
    }
    if (!run) return undefined;
    const log = this.events.get(run.runId);
    if (log && log.length < MAX_EVENTS_PER_RUN) log.push(event);
    switch (event.type) {
      case 'batch':
        run.lastStep = event.step;
        run.lastSmoothLoss = event.smoothLoss;
        if (run.kind !== 'lr_find') keepCurvePoint((run.curve ??= { stride: 1, steps: [], loss: [], smooth: [], lr: [], mom: [] }), event);
        return run; // not persisted per batch: too frequent
      case 'epoch':
        run.epochRows.push({
          epoch: event.epoch,
          trainLoss: event.trainLoss,
          validLoss: event.validLoss,
          errorRate: event.errorRate,
          accuracy: event.accuracy,
          seconds: event.seconds,
        });
        break;
      case 'lr_find_result':
        run.lrFind = { lrs: event.lrs, losses: event.losses, suggestions: event.suggestions };
        break;
      case 'fit_end':
        run.status = event.status;
        run.endedAt = this.now();
        if (event.error) run.error = event.error;
        break;
    }
    void this.persist();
    this.fire(run);
    return run;
  }

  /** The trainer process died: every running run failed, with the reason kept. */
  failActive(reason: string): RunRecord[] {
    const hit = this.runs.filter((r) => r.status === 'running');
    for (const r of hit) {
      r.status = 'failed';
      r.error = reason;
      r.endedAt = this.now();
    }
    if (hit.length) {
      void this.persist();
      this.fire(undefined);
    }
    return hit;
  }

  async clear(): Promise<void> {
    this.runs = [];
    this.events.clear();
    await this.persist();
    this.fire(undefined);
  }

  private begin(event: TrainerEventOf<'fit_begin'>, context?: Record<string, string>): RunRecord {
    const run: RunRecord = {
      runId: event.runId,
      kind: event.kind,
      status: 'running',
      startedAt: this.now(),
      epochs: event.epochs,
      batchesPerEpoch: event.batchesPerEpoch,
      totalBatches: event.totalBatches,
      lrs: event.lrs,
      frozenTo: event.frozenTo,
      layerGroups: event.layerGroups,
      lastStep: -1,
      epochRows: [],
      context,
    };
    this.runs = this.runs.filter((r) => r.runId !== event.runId);
    this.runs.push(run);
    this.events.set(run.runId, []);
    // keep the newest MAX_RUNS
    if (this.runs.length > MAX_RUNS) {
      const keep = new Set(this.list().slice(0, MAX_RUNS).map((r) => r.runId));
      for (const r of this.runs) if (!keep.has(r.runId)) this.events.delete(r.runId);
      this.runs = this.runs.filter((r) => keep.has(r.runId));
    }
    return run;
  }

  private persist(): Promise<void> {
    return Promise.resolve(this.store.update(HISTORY_KEY, this.runs)).catch(() => undefined);
  }

  private fire(run: RunRecord | undefined): void {
    for (const l of this.listeners) l(run);
  }
}

function isRunRecord(v: unknown): v is RunRecord {
  const r = v as RunRecord;
  return !!r && typeof r.runId === 'string' && typeof r.kind === 'string' && Array.isArray(r.epochRows);
}

/** "error_rate 0.062 · valid_loss 0.213" — the final metrics of a run, for tree items and toasts. */
export function summarizeRun(run: RunRecord): string {
  if (run.kind === 'lr_find') {
    const s = run.lrFind?.suggestions;
    if (!s) return run.status;
    const parts = [];
    if (s.valley != null) parts.push(`valley ${fmtLr(s.valley)}`);
    if (s.minGrad != null) parts.push(`min grad ${fmtLr(s.minGrad)}`);
    return parts.join(' · ') || run.status;
  }
  const last = run.epochRows[run.epochRows.length - 1];
  if (!last) return run.status;
  const parts = [`train_loss ${last.trainLoss.toFixed(4)}`];
  if (last.validLoss != null) parts.push(`valid_loss ${last.validLoss.toFixed(4)}`);
  if (last.errorRate != null) parts.push(`error_rate ${last.errorRate.toFixed(4)}`);
  return parts.join(' · ');
}

export function fmtLr(lr: number): string {
  return lr.toExponential(2).replace(/\.?0+e/, 'e');
}
