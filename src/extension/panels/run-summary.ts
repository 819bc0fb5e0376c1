// A run as the comparison panel shows it, from the reduced run (src/protocol/run-reducer.ts).
// No `vscode` import.
import type { TrainerEvent } from '../../protocol/events';
import { runFromEvents, type RunState } from '../../protocol/run-reducer';
import type { RunSummary } from '../../protocol/webview';

/**
 * The run's curves and epoch table. Without per-batch curves (a run loaded from the persisted
 * history after a reload) the train loss is drawn at each epoch's end.
 */
export function toRunSummary(run: RunState, label = run.runId): RunSummary {
  const epochEnd = (epoch: number) => (epoch + 1) * run.batchesPerEpoch - 1;
  const c = run.curves;
  return {
    runId: run.runId,
    label,
    kind: run.kind,
    trainLoss: c ? c.step.map((s, i) => [s, c.smoothLoss[i] as number]) : run.epochRows.map((e) => [epochEnd(e.epoch), e.trainLoss]),
    epochs: run.epochRows.map(({ trainImagesPerSecond: _ips, ...e }) => ({ ...e, step: epochEnd(e.epoch) })),
    batchesPerEpoch: run.batchesPerEpoch,
    lrs: run.lrs,
    status: run.status,
  };
}

/** The summary of a run's events (its fit_begin first); undefined without one. */
export function summarizeRunEvents(events: readonly TrainerEvent[], label?: string): RunSummary | undefined {
  const run = runFromEvents(events, { curves: true });
  return run && toRunSummary(run, label);
}

/**
 * The events a saved run record stands for (fit_begin, its kept loss curve, epochs, the LR-finder
 * result, fit_end): what a panel needs to draw a run this session never saw live.
 */
export function eventsOfRecord(r: RunState): TrainerEvent[] {
  const out: TrainerEvent[] = [
    { type: 'fit_begin', runId: r.runId, kind: r.kind, epochs: r.epochs, batchesPerEpoch: r.batchesPerEpoch, totalBatches: r.totalBatches, lrs: r.lrs, frozenTo: r.frozenTo, layerGroups: r.layerGroups },
  ];
  const c = r.curves;
  const bpe = Math.max(1, r.batchesPerEpoch);
  if (c && r.kind !== 'lr_find') {
    c.step.forEach((step, i) => {
      const lr = c.lr[i] as number;
      const lrs = i === c.step.length - 1 && r.lastLrs?.length ? r.lastLrs : [lr];
      out.push({ type: 'batch', runId: r.runId, epoch: Math.floor(step / bpe), iter: step % bpe, step, lrs, mom: c.mom[i] as number, loss: c.loss[i] as number, smoothLoss: c.smoothLoss[i] as number });
    });
  }
  // records saved before the throughput was kept have none
  for (const e of r.epochRows) out.push({ type: 'epoch', runId: r.runId, ...e, trainImagesPerSecond: e.trainImagesPerSecond ?? 0 });
  if (r.lrFind) out.push({ type: 'lr_find_result', runId: r.runId, ...r.lrFind });
  if (r.status !== 'running') out.push({ type: 'fit_end', runId: r.runId, kind: r.kind, status: r.status, ...(r.error ? { error: r.error } : {}) });
  return out;
}
