// The numbers of an interpretation as plain JSON: what interpretation.json holds and what the
// child process returns to the panels.
import * as path from 'path';
import type { InterpretationSummary, TopLoss } from '../../protocol/interpretation';
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
    macro: interp.macroAverage(),
    topLosses: interp.topLosses(opts.k ?? 9),
    items: interp.items.map((it) => interp.named(it)),
  };
}

/** The lesson's plot_top_losses title: "predicted/actual / loss / probability of the actual class". */
export function topLossTitle(t: TopLoss): string {
  return `${t.predicted}/${t.actual} / ${t.loss.toFixed(2)} / ${t.probability.toFixed(2)}`;
}

/** Plain-text lines for a terminal: most confused pairs and top losses. */
export function formatInterpretationText(s: InterpretationSummary, opts: { maxPairs?: number } = {}): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
  const lines: string[] = [];
  lines.push(`Validation items: ${s.n}   accuracy: ${pct(s.accuracy)}   error_rate: ${pct(s.errorRate)}`);
  lines.push('');
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
