// Messages between the extension's panel classes and the webviews (webviews/*.ts).
// Host → webview messages come from trusted code; webview → host messages are user intent from
// untrusted page content, parsed here and judged by the extension (panels/validate-message.ts)
// before anything acts on them.
import { z } from 'zod';
import { DatasetBatch } from './dataset';
import { TrainerEvent } from './events';
import { ClassMetrics, ConfusedPair } from './interpretation';
import { LrSpec } from './lr';
import { EpochRow, RunKind } from './runs';

export const PanelKind = z.enum(['dataset', 'lrFinder', 'training', 'interpretation', 'runComparison']);
export type PanelKind = z.infer<typeof PanelKind>;

/** An image shown in a panel: `file` is the absolute path (used in intents), `src` what the page loads (asWebviewUri). */
export const ImageRef = z.object({ file: z.string(), src: z.string().optional() });

/** One validation item as interpretation sees it (indices into InterpretationData.classes). */
export const InterpItem = ImageRef.extend({
  actual: z.number().int(),
  predicted: z.number().int(),
  loss: z.number(),
  /** Probability the model gave the actual class (the lesson's 4th title field). */
  probActual: z.number(),
  probPredicted: z.number().optional(),
  /** src of a Grad-CAM overlay PNG for this item, when computed. */
  gradCam: z.string().optional(),
});
export type InterpItem = z.infer<typeof InterpItem>;

/** What the interpretation panel renders (ClassificationInterpretation.from_learner + the cleaner's view). */
export const InterpretationData = z.object({
  runId: z.string().optional(),
  datasetRoot: z.string().optional(),
  classes: z.array(z.string()),
  /** confusion[actual][predicted] = count. */
  confusion: z.array(z.array(z.number().int())),
  /** Off-diagonal cells sorted by count desc; derived from `confusion` when absent. */
  mostConfused: z.array(ConfusedPair).optional(),
  perClass: z.array(ClassMetrics.partial({ predictedCount: true })),
  /** Largest losses first. */
  topLosses: z.array(InterpItem),
  /** Every validation item (for cell listings and show_results); when absent the panel asks the host per cell. */
  items: z.array(InterpItem).optional(),
  errorRate: z.number().optional(),
});
export type InterpretationData = z.infer<typeof InterpretationData>;

/** A run as the comparison panel shows it. */
export const RunSummary = z.object({
  runId: z.string(),
  label: z.string(),
  kind: RunKind,
  /** [step, smoothed train loss] per batch (may be subsampled by the host). */
  trainLoss: z.array(z.tuple([z.number(), z.number()])),
  /** One record per epoch (the fastai table). */
  epochs: z.array(EpochRow.extend({ step: z.number().int().optional() })),
  batchesPerEpoch: z.number().int().optional(),
  lrs: z.array(z.number()).optional(),
  status: z.string().optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const CleanerChange = z.object({
  file: z.string(),
  action: z.enum(['relabel', 'delete']),
  newLabel: z.string().optional(),
  /** Where a relabel moved the file (name-regex and folder datasets rename it). */
  newFile: z.string().optional(),
});
export type CleanerChange = z.infer<typeof CleanerChange>;

/** Host → webview. */
export const HostMessage = z.discriminatedUnion('type', [
  /** Forget everything (e.g. a new run starts in a reused panel). */
  z.object({ type: z.literal('reset') }),
  /** Trainer events, live or replayed from the run's history (in order). */
  z.object({ type: z.literal('events'), events: z.array(TrainerEvent) }),
  z.object({ type: z.literal('datasetBatch'), batch: DatasetBatch }),
  z.object({ type: z.literal('interpretation'), data: InterpretationData }),
  z.object({ type: z.literal('cellItems'), actual: z.number().int(), predicted: z.number().int(), items: z.array(InterpItem) }),
  z.object({ type: z.literal('gradCam'), file: z.string(), src: z.string() }),
  z.object({ type: z.literal('runs'), runs: z.array(RunSummary) }),
  /** The cleaner's applied changes, oldest first (after relabel/delete/undo). */
  z.object({ type: z.literal('cleaner'), changes: z.array(CleanerChange) }),
  z.object({ type: z.literal('notice'), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
  /** The max lr the next Fit One Cycle uses and where it comes from (the LR finder shows it as the prompt and sidebar do). */
  z.object({ type: z.literal('nextLr'), lr: LrSpec, source: z.string() }),
]);
export type HostMessage = z.infer<typeof HostMessage>;

/** Webview → host: user intent. */
/** What a page has drawn, in a few numbers (e.g. {points: 368, rows: 4}); lets tests in a real VS Code see inside the webview. */
export const RenderedSummary = z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean(), z.null()]));
export type RenderedSummary = z.infer<typeof RenderedSummary>;

export const WebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('rendered'), summary: RenderedSummary }),
  /** LR finder: a point/suggestion (number) or a dragged range ({start, stop}) for the next Fit One Cycle. */
  z.object({ type: z.literal('setMaxLr'), lr: LrSpec }),
  z.object({ type: z.literal('stop'), runId: z.string().optional() }),
  z.object({ type: z.literal('relabel'), file: z.string().min(1), newLabel: z.string().min(1) }),
  z.object({ type: z.literal('delete'), file: z.string().min(1) }),
  z.object({ type: z.literal('undo') }),
  z.object({ type: z.literal('reshuffle'), split: z.enum(['train', 'valid']).optional() }),
  z.object({ type: z.literal('requestCellItems'), actual: z.number().int().min(0), predicted: z.number().int().min(0) }),
  z.object({ type: z.literal('toggleGradCam'), enabled: z.boolean(), files: z.array(z.string()).max(256).optional() }),
]);
export type WebviewMessage = z.infer<typeof WebviewMessage>;
export type UserIntent = Exclude<WebviewMessage, { type: 'ready' } | { type: 'rendered' }>;
