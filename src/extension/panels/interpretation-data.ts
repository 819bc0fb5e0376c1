// Turns the trainer's ClassificationInterpretation into what the interpretation panel renders.
// Structural input type, so the panel does not depend on the trainer's classes (and no `vscode`).
import type { InterpItem, InterpretationData } from '../../protocol/webview';

export interface InterpretationSource {
  readonly classes: readonly string[];
  readonly items: readonly { file: string; actual: number; predicted: number; probs: ArrayLike<number>; loss: number }[];
  confusionMatrix(): number[][];
  mostConfused(minVal?: number): { actual: string; predicted: string; count: number }[];
  perClass(): { name: string; support: number; precision: number | null; recall: number | null; f1: number | null }[];
  errorRate(): number | null;
}

export interface InterpretationDataOptions {
  runId?: string;
  datasetRoot?: string;
  /** How many top losses to send (plot_top_losses(k)); default 25. */
  topK?: number;
  /** Send every item (cell listings without a round trip) up to this many; default 5000. */
  maxItems?: number;
  /** Maps an image file to what the page loads (webview.asWebviewUri, a file: URL in reports). */
  toSrc?: (file: string) => string | undefined;
}

/** One classified image as the panel shows it (both the in-process and the IPC answer have this shape). */
function toInterpItem(it: { file: string; actual: number; predicted: number; probs: ArrayLike<number>; loss: number }, toSrc?: (file: string) => string | undefined): InterpItem {
  return {
    file: it.file,
    src: toSrc?.(it.file),
    actual: it.actual,
    predicted: it.predicted,
    loss: it.loss,
    probActual: it.probs[it.actual],
    probPredicted: it.probs[it.predicted],
  };
}

export function toInterpretationData(interp: InterpretationSource, o: InterpretationDataOptions = {}): InterpretationData {
  const toItem = (it: InterpretationSource['items'][number]): InterpItem => toInterpItem(it, o.toSrc);
  const byLoss = interp.items.map((it, i) => [it, i] as const).sort((a, b) => b[0].loss - a[0].loss || a[1] - b[1]);
  const maxItems = o.maxItems ?? 5000;
  const errorRate = interp.errorRate();
  return {
    runId: o.runId,
    datasetRoot: o.datasetRoot,
    classes: [...interp.classes],
    confusion: interp.confusionMatrix(),
    mostConfused: interp.mostConfused(1),
    perClass: interp.perClass().map(({ name, support, precision, recall, f1 }) => ({ name, support, precision, recall, f1 })),
    topLosses: byLoss.slice(0, o.topK ?? 25).map(([it]) => toItem(it)),
    items: interp.items.length <= maxItems ? interp.items.map(toItem) : undefined,
    errorRate: errorRate ?? undefined,
  };
}

/** The items of one confusion cell (answer to a requestCellItems intent when `items` was not sent). */
export function cellItems(interp: InterpretationSource, actual: number, predicted: number, toSrc?: (file: string) => string): InterpItem[] {
  return interp.items
    .filter((it) => it.actual === actual && it.predicted === predicted)
    .map((it) => ({ file: it.file, src: toSrc?.(it.file), actual, predicted, loss: it.loss, probActual: it.probs[actual], probPredicted: it.probs[predicted] }));
}

/** The trainer session's `interpret` answer as it crosses IPC (plain JSON; see src/trainer/session.ts). */
export interface InterpretationJson {
  classes: string[];
  items: { file: string; actual: number; predicted: number; probs: number[]; loss: number }[];
  confusion: number[][];
  mostConfused?: { actual: string; predicted: string; count: number }[];
  topLosses: { file: string; actual: string; predicted: string; loss: number; probability: number }[];
  perClass: { name: string; support: number; precision: number | null; recall: number | null; f1: number | null }[];
  errorRate: number | null;
}

export function isInterpretationJson(v: unknown): v is InterpretationJson {
  const r = v as Partial<InterpretationJson> | null;
  return !!r && Array.isArray(r.classes) && Array.isArray(r.items) && Array.isArray(r.confusion) && Array.isArray(r.topLosses) && Array.isArray(r.perClass);
}

/** Same as toInterpretationData, from the JSON the child process returns. */
export function fromInterpretationJson(r: InterpretationJson, o: InterpretationDataOptions = {}): InterpretationData {
  const byFile = new Map(r.items.map((it) => [it.file, it]));
  const item = (it: InterpretationJson['items'][number]): InterpItem => toInterpItem(it, o.toSrc);
  // The panel offers 9/16/25 top losses: take them from every item when the answer has them.
  const ranked = r.items.map((it, i) => [it, i] as const).sort((a, b) => b[0].loss - a[0].loss || a[1] - b[1]);
  const fromItems = ranked.slice(0, Math.max(o.topK ?? 25, r.topLosses.length)).map(([it]) => item(it));
  const top = r.items.length ? fromItems : r.topLosses.map((t): InterpItem => {
    const full = byFile.get(t.file);
    if (full) return item(full);
    return { file: t.file, src: o.toSrc?.(t.file), actual: r.classes.indexOf(t.actual), predicted: r.classes.indexOf(t.predicted), loss: t.loss, probActual: t.probability };
  });
  const maxItems = o.maxItems ?? 5000;
  return {
    runId: o.runId,
    datasetRoot: o.datasetRoot,
    classes: [...r.classes],
    confusion: r.confusion,
    mostConfused: r.mostConfused,
    perClass: r.perClass.map(({ name, support, precision, recall, f1 }) => ({ name, support, precision, recall, f1 })),
    topLosses: top,
    items: r.items.length <= maxItems ? r.items.map(item) : undefined,
    errorRate: r.errorRate ?? undefined,
  };
}
