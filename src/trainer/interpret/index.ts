// Interpretation's public API. The class-based pieces (ClassificationInterpretation, DatasetCleaner,
// computeGradCam, writeReport, runInterpret) plus the JSON-in/JSON-out functions the trainer
// session calls for the interpret / gradCam / relabel / deleteFile / undo requests.
import * as path from 'path';
import type { EventSink } from '../../protocol/events';
import type { SplitDataset } from '../data/types';
import { DatasetCleaner } from './cleaner';
import type { CleanerAction } from '../../protocol/cleaner';
import { confineDatasetImage } from './cleaner-log';
import { gradCamForFile, type GradCamSource } from './gradcam';
import { ClassificationInterpretation, type PredictionSource } from './interpretation';
import { summarizeInterpretation } from './summary';
import { gradCamEmptyReason, type GradCamResult, type InterpretationSummary } from '../../protocol/interpretation';

export { ClassificationInterpretation, argmax } from './interpretation';
export type { InterpItem, ResultItem, PredictionSource } from './interpretation';
export { computeGradCam, renderOverlayPng, gradCamForFile } from './gradcam';
export type { GradCamMap, GradCamImage, GradCamSource, OverlayOptions } from './gradcam';
export { loadModelInput, loadCenterCrop, normalizeRgb, IMAGENET_STATS } from './image-input';
export type { ModelInput, Normalization } from './image-input';
export { DatasetCleaner, CLEANER_LOG, DATASET_TRASH } from './cleaner';
export type { CleanerOptions } from './cleaner';
export { writeReport, writeReportFiles, renderReportHtml, makeThumbnail } from './report';
export type { ReportOptions, ReportPaths, ReportImages } from './report';
export { summarizeInterpretation, formatInterpretationText, formatClassificationReport, topLossTitle } from './summary';
export { runInterpret } from './run-interpret';
export type { RunInterpretOptions, RunInterpretResult, InterpretLearner } from './run-interpret';
export { InterpretError } from './errors';

// --- session-facing functions (results are plain JSON) ------------------------------------------

/** One validation pass → a ClassificationInterpretation (keep it; summarize() for the wire). */
export async function interpretLearner(learner: PredictionSource, opts: { onEvent?: EventSink } = {}): Promise<ClassificationInterpretation> {
  const t0 = Date.now();
  const interp = await ClassificationInterpretation.fromLearner(learner);
  opts.onEvent?.({ type: 'log', level: 'info', message: `interpretation: ${interp.length} validation images in ${((Date.now() - t0) / 1000).toFixed(1)} s` });
  return interp;
}

export function summarize(interp: ClassificationInterpretation, opts: { k?: number } = {}): InterpretationSummary {
  return summarizeInterpretation(interp, opts);
}

export async function gradCam(learner: GradCamSource, file: string, opts: { classIndex?: number } = {}): Promise<GradCamResult> {
  const r = await gradCamForFile(learner, path.resolve(file), { classIndex: opts.classIndex, outSize: 224 });
  const note = gradCamEmptyReason(r);
  return {
    ...(note ? { note } : {}),
    file: r.file,
    classIndex: r.classIndex,
    className: r.className,
    predicted: r.predicted,
    predictedName: r.predictedName,
    score: r.score,
    probability: r.probability,
    png: `data:image/png;base64,${r.png.toString('base64')}`,
    raw: Array.from(r.raw),
    rawWidth: r.rawWidth,
    rawHeight: r.rawHeight,
  };
}

/** A file a request names, as an image inside the open dataset (after resolving symlinks), else an InterpretError. */
export function confineToDataset(dataset: Pick<SplitDataset, 'root'>, file: string): string {
  return confineDatasetImage(dataset.root, path.resolve(dataset.root, file), 'a file');
}

function cleanerFor(dataset: Pick<SplitDataset, 'root' | 'rule' | 'classes'>): DatasetCleaner {
  return new DatasetCleaner({ root: dataset.root, rule: dataset.rule, classes: dataset.classes, ...itemsOf(dataset) });
}

/** The files the open dataset lists: the only ones relabel and delete may touch. */
function itemsOf(dataset: Pick<SplitDataset, 'root' | 'rule' | 'classes'> & Partial<Pick<SplitDataset, 'train' | 'valid'>>): { items?: string[] } {
  if (!dataset.train || !dataset.valid) return {};
  return { items: [...dataset.train.items, ...dataset.valid.items] };
}

/**
 * Relabel a file of the open dataset. The dataset's item lists (train/valid) are updated in place
 * so the next fit uses the new label without reopening.
 */
export async function relabel(dataset: SplitDataset, file: string, newLabel: string): Promise<CleanerAction> {
  const action = await cleanerFor(dataset).relabel(file, newLabel);
  applyToDataset(dataset, action, 'do');
  return action;
}

/** Delete a file (OS trash, else <dataset>/.trash); it leaves the dataset's item lists. */
export async function deleteFile(dataset: SplitDataset, file: string): Promise<CleanerAction> {
  const action = await cleanerFor(dataset).delete(file);
  applyToDataset(dataset, action, 'do');
  return action;
}

/** Revert the last cleaner action recorded in the dataset's log; returns the action reverted. */
export async function undo(dataset: SplitDataset): Promise<CleanerAction> {
  const action = await cleanerFor(dataset).undo();
  applyToDataset(dataset, action, 'undo');
  return action;
}

// Where a deleted item sat, so undo can put it back into the same split.
const removedItems = new WeakMap<SplitDataset, Map<string, { split: 'train' | 'valid'; y: number }>>();

function applyToDataset(ds: SplitDataset, action: CleanerAction, dir: 'do' | 'undo'): void {
  if (!ds.train || !ds.valid) return;
  const splits = [['train', ds.train], ['valid', ds.valid]] as const;
  const find = (file: string) => {
    for (const [name, list] of splits) {
      const i = list.items.indexOf(file);
      if (i >= 0) return { name, list, i };
    }
    return null;
  };
  if (action.op === 'relabel') {
    const label = dir === 'do' ? action.newLabel : action.oldLabel;
    const y = ds.classes.indexOf(label);
    const current = action.kind === 'move' ? (dir === 'do' ? action.from : action.to) : action.file;
    const next = action.kind === 'move' ? (dir === 'do' ? action.to : action.from) : action.file;
    const hit = find(current);
    if (hit && y >= 0) {
      hit.list.items[hit.i] = next;
      hit.list.y[hit.i] = y;
    }
    return;
  }
  let removed = removedItems.get(ds);
  if (!removed) removedItems.set(ds, (removed = new Map()));
  if (dir === 'do') {
    const hit = find(action.from);
    if (hit) {
      removed.set(action.from, { split: hit.name, y: hit.list.y[hit.i] });
      hit.list.items.splice(hit.i, 1);
      hit.list.y.splice(hit.i, 1);
    }
  } else {
    const was = removed.get(action.from);
    if (was && !find(action.from)) {
      ds[was.split].items.push(action.from);
      ds[was.split].y.push(was.y);
      removed.delete(action.from);
    }
  }
}
