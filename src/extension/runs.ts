// Run history: one record per fit / lr_find, folded from the trainer's events by the protocol's
// run reducer and persisted per workspace (a Memento-like store) so it survives reloads and trainer
// crashes. It also holds the extension's one event buffer: every event received, and each run's
// events for the panels to replay. Plain Node.
import type { TrainerEvent, TrainerEventOf } from '../protocol/events';
import { formatLrValue } from '../protocol/lr';
import { beginRun, isRunEvent, reduceRun, runWhat, type RunState } from '../protocol/run-reducer';
import type { RunKind } from '../protocol/runs';

/** A run as the history keeps it: the reduced run (src/protocol/run-reducer.ts) plus when and where. */
export type RunRecord = RunState & {
  startedAt: number;
  endedAt?: number;
  /** Free-form context captured when the run started (dataset root, arch). */
  context?: Record<string, string>;
};

/** The subset of vscode.Memento the store needs. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

const HISTORY_KEY = 'imageTrainer.runs';
const MAX_RUNS = 50;
/** Events kept in memory per run so a panel opened mid-run can catch up. */
const MAX_EVENTS_PER_RUN = 20000;
/** Kept points per run curve (thinned by the run reducer): enough to draw it, small enough for workspaceState. */
export const MAX_CURVE_POINTS = 512;
/** Recent events of every kind kept (eventsSince); the oldest half goes when full. */
const RECENT_EVENTS = 5000;

export class RunStore {
  private runs: RunRecord[];
  private readonly events = new Map<string, TrainerEvent[]>();
  /** Every event received, bounded (oldest half dropped when full); `dropped` counts those gone. */
  private readonly recent: TrainerEvent[] = [];
  private dropped = 0;
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

  /** How many events were received so far: a mark to read what came after it with eventsSince. */
  get received(): number {
    return this.dropped + this.recent.length;
  }

  /** Every event received since `mark` (a `received` count), oldest first, as far as the buffer still holds them. */
  eventsSince(mark: number): TrainerEvent[] {
    return this.recent.slice(Math.max(0, mark - this.dropped));
  }

  /** The newest run of these kinds. */
  latest(kinds: readonly RunKind[]): RunRecord | undefined {
    return this.list().find((r) => kinds.includes(r.kind));
  }

  onDidChange(listener: (run: RunRecord | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Feeds one trainer event (unthrottled). Returns the run it touched, if any. */
  apply(event: TrainerEvent, context?: Record<string, string>): RunRecord | undefined {
    if (this.recent.length >= RECENT_EVENTS) this.dropped += this.recent.splice(0, RECENT_EVENTS / 2).length;
    this.recent.push(event);
    if (!isRunEvent(event)) return undefined;
    const run = event.type === 'fit_begin' ? this.begin(event, context) : this.get(event.runId);
    if (!run) return undefined;
    const log = this.events.get(run.runId);
    if (log && log.length < MAX_EVENTS_PER_RUN) log.push(event);
    reduceRun(run, event);
    if (event.type === 'fit_end') run.endedAt = this.now();
    if (event.type === 'batch') return run; // not persisted per batch: too frequent
    void this.persist();
    this.fire(run);
    return run;
  }

  /** The trainer process died: every running run ends failed with the reason (the fit_end it could not send). */
  failActive(reason: string): { run: RunRecord; end: TrainerEventOf<'fit_end'> }[] {
    return this.runs
      .filter((r) => r.status === 'running')
      .map((run) => {
        const end: TrainerEventOf<'fit_end'> = { type: 'fit_end', runId: run.runId, kind: run.kind, status: 'failed', error: reason };
        this.apply(end);
        return { run, end };
      });
  }

  async clear(): Promise<void> {
    this.runs = [];
    this.events.clear();
    await this.persist();
    this.fire(undefined);
  }

  private begin(event: TrainerEventOf<'fit_begin'>, context?: Record<string, string>): RunRecord {
    // A fit keeps a thinned batch curve in its saved record, so it redraws after a reload.
    const curves = event.kind === 'lr_find' ? undefined : { maxPoints: MAX_CURVE_POINTS };
    const run: RunRecord = { ...beginRun(event, { curves }), startedAt: this.now(), ...(context ? { context } : {}) };
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

/** A run as a person names it: "fit_one_cycle 2 ep · resnet18 · 14:03" (lr_find: "lr_find · resnet18 · 14:03"). */
export function runName(run: Pick<RunRecord, 'kind' | 'epochs' | 'frozenEpochs' | 'startedAt' | 'context'>): string {
  const t = new Date(run.startedAt);
  const hhmm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  return [runWhat(run), run.context?.arch, hhmm].filter(Boolean).join(' · ');
}

/** "error_rate 0.062 · valid_loss 0.213" — the final metrics of a run, for tree items and toasts. */
export function formatRunMetrics(run: RunRecord): string {
  if (run.kind === 'lr_find') {
    const s = run.lrFind?.suggestions;
    if (!s) return run.status;
    const parts = [];
    if (s.valley != null) parts.push(`valley ${formatLrValue(s.valley)}`);
    if (s.minGrad != null) parts.push(`min grad ${formatLrValue(s.minGrad)}`);
    return parts.join(' · ') || run.status;
  }
  const last = run.epochRows[run.epochRows.length - 1];
  if (!last) return run.status;
  const parts = [`train_loss ${last.trainLoss.toFixed(4)}`];
  if (last.validLoss != null) parts.push(`valid_loss ${last.validLoss.toFixed(4)}`);
  if (last.errorRate != null) parts.push(`error_rate ${last.errorRate.toFixed(4)}`);
  return parts.join(' · ');
}
