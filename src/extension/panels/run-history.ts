// Keeps each run's trainer events so a panel opened (or re-created) mid-run can replay them, and
// summarises runs for the comparison panel. No `vscode` import.
import type { TrainerEvent } from '../../protocol/events';
import type { RunSummary } from '../../protocol/webview';
import type { RunRecord } from '../runs';

type RunEvent = Extract<TrainerEvent, { runId: string }>;

/** One run's events, as kept for replay (the persisted summary is ../runs' RunRecord). */
interface RunEvents {
  runId: string;
  events: RunEvent[];
}

const hasRunId = (e: TrainerEvent): e is RunEvent => 'runId' in e && typeof (e as { runId?: unknown }).runId === 'string';

export class RunHistory {
  private readonly runs = new Map<string, RunEvents>();
  private order: string[] = [];
  private dataset: Extract<TrainerEvent, { type: 'dataset' }> | null = null;

  /** @param maxRuns oldest runs beyond this are forgotten (their summaries live in the extension's run store). */
  constructor(private readonly maxRuns = 20) {}

  record(e: TrainerEvent): void {
    if (e.type === 'dataset') {
      this.dataset = e;
      return;
    }
    if (!hasRunId(e)) return;
    let r = this.runs.get(e.runId);
    if (r && e.type === 'fit_begin' && r.events.some((x) => x.type === 'fit_begin')) return; // already recorded (replay + live)
    if (!r) {
      r = { runId: e.runId, events: [] };
      this.runs.set(e.runId, r);
      this.order = [...this.order.filter((id) => id !== e.runId), e.runId];
      while (this.order.length > this.maxRuns) this.runs.delete(this.order.shift() as string);
    }
    r.events.push(e);
  }

  latestDataset() {
    return this.dataset;
  }

  /** The run's events in arrival order (a replay). */
  events(runId: string): TrainerEvent[] {
    return [...(this.runs.get(runId)?.events ?? [])];
  }

  /** Most recent run (of these kinds), or undefined. */
  latest(kinds?: readonly string[]): string | undefined {
    for (let i = this.order.length - 1; i >= 0; i--) {
      const begin = this.runs.get(this.order[i])?.events.find((e) => e.type === 'fit_begin');
      if (!kinds || (begin && begin.type === 'fit_begin' && kinds.includes(begin.kind))) return this.order[i];
    }
    return undefined;
  }

  runIds(): string[] {
    return [...this.order];
  }

  summary(runId: string, label?: string): RunSummary | undefined {
    return summarizeRun(this.events(runId), label);
  }
}

/** A run's curves and epoch table from its events (for the comparison panel). */
export function summarizeRun(events: readonly TrainerEvent[], label?: string): RunSummary | undefined {
  const begin = events.find((e) => e.type === 'fit_begin');
  if (!begin || begin.type !== 'fit_begin') return undefined;
  const end = events.find((e) => e.type === 'fit_end');
  const trainLoss: [number, number][] = [];
  const epochs: RunSummary['epochs'] = [];
  for (const e of events) {
    if (e.type === 'batch') trainLoss.push([e.step, e.smoothLoss]);
    else if (e.type === 'epoch')
      epochs.push({ epoch: e.epoch, step: (e.epoch + 1) * begin.batchesPerEpoch - 1, trainLoss: e.trainLoss, validLoss: e.validLoss, errorRate: e.errorRate, accuracy: e.accuracy, seconds: e.seconds });
  }
  return {
    runId: begin.runId,
    label: label ?? begin.runId,
    kind: begin.kind,
    trainLoss,
    epochs,
    batchesPerEpoch: begin.batchesPerEpoch,
    lrs: begin.lrs,
    status: end && end.type === 'fit_end' ? end.status : 'running',
  };
}

/** A comparison entry from the persisted record alone (after a reload the batch events are gone). */
export function summaryFromRecord(r: RunRecord): RunSummary {
  return {
    runId: r.runId,
    label: r.runId,
    kind: r.kind,
    trainLoss: r.epochRows.map((e) => [(e.epoch + 1) * r.batchesPerEpoch - 1, e.trainLoss]),
    epochs: r.epochRows.map((e) => ({ ...e, step: (e.epoch + 1) * r.batchesPerEpoch - 1 })),
    batchesPerEpoch: r.batchesPerEpoch,
    lrs: r.lrs,
    status: r.status,
  };
}

/**
 * The events a saved run record stands for (fit_begin, its kept loss curve, epochs, the LR-finder
 * result, fit_end): what a panel needs to draw a run this session never saw live.
 */
export function eventsOfRecord(r: RunRecord): TrainerEvent[] {
  const out: TrainerEvent[] = [
    { type: 'fit_begin', runId: r.runId, kind: r.kind, epochs: r.epochs, batchesPerEpoch: r.batchesPerEpoch, totalBatches: r.totalBatches, lrs: r.lrs, frozenTo: r.frozenTo, layerGroups: r.layerGroups },
  ];
  const c = r.curve;
  const bpe = Math.max(1, r.batchesPerEpoch);
  if (c && r.kind !== 'lr_find') {
    c.steps.forEach((step, i) => {
      const lr = c.lr[i];
      const lrs = i === c.steps.length - 1 && c.lastLrs?.length ? c.lastLrs : [lr];
      out.push({ type: 'batch', runId: r.runId, epoch: Math.floor(step / bpe), iter: step % bpe, step, lrs, mom: c.mom[i], loss: c.loss[i], smoothLoss: c.smooth[i] });
    });
  }
  for (const e of r.epochRows) out.push({ type: 'epoch', runId: r.runId, trainImagesPerSecond: 0, ...e });
  if (r.lrFind) out.push({ type: 'lr_find_result', runId: r.runId, ...r.lrFind });
  if (r.status !== 'running') out.push({ type: 'fit_end', runId: r.runId, kind: r.kind, status: r.status, ...(r.error ? { error: r.error } : {}) });
  return out;
}
