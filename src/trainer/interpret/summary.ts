// The numbers of an interpretation as plain JSON: what interpretation.json holds and what the
// child process returns to the panels.
import * as path from 'path';
import type { ClassificationReport, InterpretationSummary, TopLoss } from '../../protocol/interpretation';
import type { ClassificationInterpretation } from './interpretation';

export function summarizeInterpretation(interp: ClassificationInterpretation, opts: { k?: number } = {}): InterpretationSummary {
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    classes: [...interp.classes],
    n: interp.length,
    accuracy: interp.accuracy(),
    errorRate: interp.errorRate(),
    confusionMatrix: interp.confusionMatrix(),
    confusionMatrixNormalized: interp.confusionMatrix({ normalize: true }),
    mostConfused: interp.mostConfused(1),
    perClass: interp.perClass(),
    report: interp.classificationReport(),
    topLosses: interp.topLosses(opts.k ?? 9),
    items: interp.items.map((it) => interp.named(it)),
  };
}

/** The lesson's plot_top_losses title: "predicted/actual / loss / probability of the actual class". */
export function topLossTitle(t: TopLoss): string {
  return `${t.predicted}/${t.actual} / ${t.loss.toFixed(2)} / ${t.probability.toFixed(2)}`;
}

/**
 * The report as sklearn's classification_report prints it (fastai's print_classification_report):
 * right-aligned columns 9 wide, `digits` decimals, a blank line before accuracy and the averages.
 */
export function formatClassificationReport(r: ClassificationReport, digits = 2): string {
  const width = Math.max('weighted avg'.length, digits, ...r.classes.map((c) => c.name.length));
  const num = (v: number) => v.toFixed(digits).padStart(9);
  const line = (name: string, cells: string[]) => `${name.padStart(width)} ${cells.map((c) => ` ${c.padStart(9)}`).join('')}`;
  const row = (name: string, m: { precision: number; recall: number; f1: number; support: number }) => line(name, [num(m.precision), num(m.recall), num(m.f1), String(m.support)]);
  return [
    line('', ['precision', 'recall', 'f1-score', 'support']),
    '',
    ...r.classes.map((c) => row(c.name, c)),
    '',
    line('accuracy', ['', '', num(r.accuracy), String(r.support)]),
    row('macro avg', r.macroAvg),
    row('weighted avg', r.weightedAvg),
  ].join('\n') + '\n';
}

/** Plain-text lines for a terminal: the classification report, most confused pairs and top losses. */
export function formatInterpretationText(s: InterpretationSummary, opts: { maxPairs?: number } = {}): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
  const lines: string[] = [];
  lines.push(`Validation items: ${s.n}   accuracy: ${pct(s.accuracy)}   error_rate: ${pct(s.errorRate)}`);
  lines.push('');
  lines.push('Classification report:');
  lines.push(formatClassificationReport(s.report));
  lines.push('Most confused (actual -> predicted: count):');
  const pairs = s.mostConfused.slice(0, opts.maxPairs ?? 20);
  if (pairs.length === 0) lines.push('  (none: every validation item was classified correctly)');
  for (const p of pairs) lines.push(`  ${p.actual} -> ${p.predicted}: ${p.count}`);
  if (s.mostConfused.length > pairs.length) lines.push(`  … ${s.mostConfused.length - pairs.length} more pairs in interpretation.json`);
  lines.push('');
  lines.push('Top losses (predicted/actual / loss / probability of actual):');
  const width = Math.max(0, ...s.topLosses.map((t) => topLossTitle(t).length));
  for (const t of s.topLosses) lines.push(`  ${topLossTitle(t).padEnd(width)}  ${path.basename(t.file)}`);
  return lines.join('\n') + '\n';
}
