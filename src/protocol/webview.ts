// Messages between the extension's panel classes and the webviews (webviews/*.ts).
// Host → webview messages come from trusted code; webview → host messages are user intent from
// untrusted page content and are validated (validateWebviewMessage) before anything acts on them.
// Webview bundles import only types from here, so node:path never reaches the browser bundle.
import * as path from 'node:path';
import { z } from 'zod';
import { TrainerEvent } from './events';
import { LrSpecSchema } from './requests';

export const PanelKind = z.enum(['dataset', 'lrFinder', 'training', 'interpretation', 'runComparison']);
export type PanelKind = z.infer<typeof PanelKind>;

/** An image shown in a panel: `file` is the absolute path (used in intents), `src` what the page loads (asWebviewUri). */
export const ImageRef = z.object({ file: z.string(), src: z.string().optional() });

/** fastai show_batch: sample images with their labels. */
export const DatasetBatch = z.object({
  split: z.enum(['train', 'valid']),
  items: z.array(ImageRef.extend({ label: z.string() })),
});
export type DatasetBatch = z.infer<typeof DatasetBatch>;

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

export const ClassMetrics = z.object({
  name: z.string(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  f1: z.number().nullable(),
  support: z.number().int(),
});
export type ClassMetrics = z.infer<typeof ClassMetrics>;

export const ConfusedPair = z.object({ actual: z.string(), predicted: z.string(), count: z.number().int() });
export type ConfusedPair = z.infer<typeof ConfusedPair>;

/** What the interpretation panel renders (ClassificationInterpretation.from_learner + the cleaner's view). */
export const InterpretationData = z.object({
  runId: z.string().optional(),
  datasetRoot: z.string().optional(),
  classes: z.array(z.string()),
  /** confusion[actual][predicted] = count. */
  confusion: z.array(z.array(z.number().int())),
  /** Off-diagonal cells sorted by count desc; derived from `confusion` when absent. */
  mostConfused: z.array(ConfusedPair).optional(),
  perClass: z.array(ClassMetrics),
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
  kind: z.enum(['fit', 'fit_one_cycle', 'lr_find']),
  /** [step, smoothed train loss] per batch (may be subsampled by the host). */
  trainLoss: z.array(z.tuple([z.number(), z.number()])),
  /** One record per epoch (the fastai table). */
  epochs: z.array(
    z.object({
      epoch: z.number().int(),
      step: z.number().int().optional(),
      trainLoss: z.number(),
      validLoss: z.number().nullable(),
      errorRate: z.number().nullable(),
      accuracy: z.number().nullable().optional(),
      seconds: z.number(),
    }),
  ),
  batchesPerEpoch: z.number().int().optional(),
  lrs: z.array(z.number()).optional(),
  status: z.string().optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const CleanerChange = z.object({
  file: z.string(),
  action: z.enum(['relabel', 'delete']),
  newLabel: z.string().optional(),
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
  z.object({ type: z.literal('setMaxLr'), lr: LrSpecSchema }),
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

/** What the host knows when it judges a webview message. */
export interface IntentContext {
  /** Absolute dataset folder; relabel/delete/gradCam files must lie inside it. */
  datasetRoot?: string;
  /** Known class names; a relabel must name one of them. */
  classes?: readonly string[];
  /** Path flavour (tests exercise win32 on Linux). */
  pathApi?: typeof path.posix;
}

export type ValidationResult = { ok: true; message: WebviewMessage } | { ok: false; error: string };

/** True when `file` is an absolute path strictly inside `root` (after normalising `..`). */
export function isInsideRoot(file: string, root: string, p: typeof path.posix = path): boolean {
  if (!file || file.includes('\0') || !p.isAbsolute(file) || !p.isAbsolute(root)) return false;
  const rel = p.relative(p.resolve(root), p.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !p.isAbsolute(rel);
}

/** Parses and judges a message posted by a webview. Never throws. */
export function validateWebviewMessage(raw: unknown, ctx: IntentContext = {}): ValidationResult {
  const parsed = WebviewMessage.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `malformed webview message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` };
  }
  const msg = parsed.data;
  const p = ctx.pathApi ?? path;
  const files = msg.type === 'relabel' || msg.type === 'delete' ? [msg.file] : msg.type === 'toggleGradCam' ? (msg.files ?? []) : [];
  if (files.length) {
    if (!ctx.datasetRoot) return { ok: false, error: `refused ${msg.type}: no dataset is open` };
    for (const f of files) {
      if (!isInsideRoot(f, ctx.datasetRoot, p)) {
        return { ok: false, error: `refused ${msg.type} of ${JSON.stringify(f)}: the file is outside the dataset folder ${ctx.datasetRoot}` };
      }
    }
  }
  if (msg.type === 'relabel' && ctx.classes && !ctx.classes.includes(msg.newLabel)) {
    return { ok: false, error: `refused relabel of ${msg.file}: unknown class ${JSON.stringify(msg.newLabel)} (known: ${ctx.classes.join(', ')})` };
  }
  if (msg.type === 'setMaxLr' && typeof msg.lr === 'object' && msg.lr.start !== undefined && msg.lr.start > msg.lr.stop) {
    return { ok: false, error: `refused setMaxLr: start ${msg.lr.start} is above stop ${msg.lr.stop}` };
  }
  if (msg.type === 'requestCellItems' && ctx.classes && (msg.actual >= ctx.classes.length || msg.predicted >= ctx.classes.length)) {
    return { ok: false, error: `refused requestCellItems: class index out of range (${ctx.classes.length} classes)` };
  }
  return { ok: true, message: msg };
}
