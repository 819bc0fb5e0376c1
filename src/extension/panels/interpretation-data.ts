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
  toSrc?: (file: string) => string;
}

export function toInterpretationData(interp: InterpretationSource, o: InterpretationDataOptions = {}): InterpretationData {
  const toItem = (it: InterpretationSource['items'][number]): InterpItem => ({
    file: it.file,
    src: o.toSrc?.(it.file),
    actual: it.actual,
    predicted: it.predicted,
    loss: it.loss,
    probActual: it.probs[it.actual],
    probPredicted: it.probs[it.predicted],
  });
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
