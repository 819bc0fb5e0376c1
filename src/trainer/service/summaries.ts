// The plain-JSON answers the session gives about its dataset and interpretation.
import type { DatasetSummary } from '../../protocol/dataset';
import type { InterpretationSummary, InterpretResult } from '../../protocol/interpretation';
import type { SplitDataset } from '../data/types';
import type { ClassificationInterpretation } from '../interpret';

export function summarizeDataset(split: SplitDataset): DatasetSummary {
  const counts = split.classes.map((name) => ({ name, train: 0, valid: 0 }));
  for (const y of split.train.y) (counts[y] as { train: number }).train++;
  for (const y of split.valid.y) (counts[y] as { valid: number }).valid++;
  return {
    root: split.root,
    rule: { ...split.rule },
    classes: split.classes,
    counts,
    trainCount: split.train.items.length,
    validCount: split.valid.items.length,
    skipped: split.skipped,
  };
}

/** ClassificationInterpretation as plain JSON: the summary, `confusion`, and every item's probabilities. */
export function interpretResult(interp: ClassificationInterpretation, summary: InterpretationSummary): InterpretResult {
  return {
    ...summary,
    confusion: summary.confusionMatrix,
    items: interp.items.map((it) => ({
      index: it.index,
      file: it.file,
      actual: it.actual,
      predicted: it.predicted,
      loss: it.loss,
      probability: it.probs[it.actual] as number,
      probs: Array.from(it.probs),
    })),
  };
}
