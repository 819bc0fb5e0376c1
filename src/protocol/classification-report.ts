// sklearn's classification_report numbers from a confusion matrix: one computation for the
// trainer (interpretation.json, text, HTML report) and the interpretation panel. No zod here, so
// the webview bundle imports it alone; the shape is ClassificationReport in ./interpretation.
import type { ClassificationReport, ReportRow } from './interpretation';

/** The report from a confusion matrix (rows actual, columns predicted), as sklearn computes it. */
export function classificationReport(classes: readonly string[], confusion: readonly (readonly number[])[]): ClassificationReport {
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const support = confusion.reduce((s, row) => s + row.reduce((t, v) => t + v, 0), 0);
  const rows = classes.map((name, k) => {
    const tp = confusion[k]?.[k] ?? 0;
    const actual = (confusion[k] ?? []).reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, row) => s + (row[k] ?? 0), 0);
    // 2TP/(2TP+FP+FN), sklearn's F1: the harmonic mean of precision and recall, 0 when TP is 0
    return { name, precision: ratio(tp, predicted), recall: ratio(tp, actual), f1: ratio(2 * tp, actual + predicted), support: actual };
  });
  const avg = (weight: (r: (typeof rows)[number]) => number): ReportRow => {
    const w = rows.reduce((s, r) => s + weight(r), 0);
    const mean = (f: (r: (typeof rows)[number]) => number) => ratio(rows.reduce((s, r) => s + weight(r) * f(r), 0), w);
    return { precision: mean((r) => r.precision), recall: mean((r) => r.recall), f1: mean((r) => r.f1), support };
  };
  const correct = classes.reduce((s, _, k) => s + (confusion[k]?.[k] ?? 0), 0);
  return { classes: rows, accuracy: ratio(correct, support), support, macroAvg: avg(() => 1), weightedAvg: avg((r) => r.support) };
}
