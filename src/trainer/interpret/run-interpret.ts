// What `image-trainer interpret` does once the CLI has a learner: one validation pass, the most
// confused pairs and top losses printed as plain text, and OUT/interpretation.json + OUT/report.html
// with thumbnails and Grad-CAM overlays for the top losses.
import type { EventSink } from '../../protocol/events';
import type { ClassifierModel } from '../models/types';
import { IMAGENET_STATS, type Normalization } from './image-input';
import type { GradCamSource } from './gradcam';
import { ClassificationInterpretation, type PredictionSource } from './interpretation';
import { writeReportFiles } from './report';
import { writeFileAtomic } from '../io/atomic-write';
import type { InterpretationSummary, TtaSummary } from '../../protocol/interpretation';
import { formatInterpretationText } from './summary';

/** A learner: getPreds for the numbers; model, size and normalize too for Grad-CAM overlays. */
export interface InterpretLearner extends PredictionSource {
  model?: ClassifierModel;
  data: { classes: string[]; size?: number; normalize?: Normalization };
}

export interface RunInterpretOptions {
  learner: InterpretLearner;
  outDir: string;
  /** Top losses to print and show (default 9). */
  k?: number;
  /** Grad-CAM overlays in the report (default true when the learner exposes its model). */
  heatmaps?: boolean;
  /** Where the text goes (default process.stdout). */
  out?: { write(s: string): unknown };
  onEvent?: EventSink;
  title?: string;
  /** An interpretation already computed from this learner (skips the validation pass). */
  interp?: ClassificationInterpretation;
  /** learn.tta() (interpret --tta): its errors are printed beside the plain one and kept in interpretation.json. */
  tta?: () => Promise<TtaSummary>;
}

export interface RunInterpretResult {
  interp: ClassificationInterpretation;
  summary: InterpretationSummary;
  jsonPath: string;
  htmlPath: string;
  /** Files whose preview or heatmap could not be made (the report shows them without). */
  warnings: string[];
}

export async function runInterpret(opts: RunInterpretOptions): Promise<RunInterpretResult> {
  const out = opts.out ?? process.stdout;
  const k = opts.k ?? 9;
  const log = (level: 'info' | 'warn', message: string) => opts.onEvent?.({ type: 'log', level, message });
  let interp = opts.interp;
  if (!interp) {
    const t0 = Date.now();
    interp = await ClassificationInterpretation.fromLearner(opts.learner);
    log('info', `interpretation: ${interp.length} validation images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  const { model, data } = opts.learner;
  const camSource: GradCamSource | null =
    model && data.size !== undefined ? { model, data: { classes: data.classes, size: data.size, normalize: data.normalize ?? IMAGENET_STATS } } : null;
  const wantHeat = opts.heatmaps ?? camSource !== null;
  const { jsonPath, htmlPath, summary, warnings } = await writeReportFiles(opts.outDir, interp, {
    k,
    heatmapsFrom: wantHeat && camSource ? camSource : undefined,
    title: opts.title,
  });
  for (const w of warnings) log('warn', w);
  if (opts.tta) {
    summary.tta = await opts.tta();
    await writeFileAtomic(jsonPath, JSON.stringify(summary, null, 2) + '\n');
  }
  out.write(formatInterpretationText(summary));
  if (summary.tta) out.write(formatTta(summary.tta));
  out.write(`\nWrote ${jsonPath}\nWrote ${htmlPath}\n`);
  return { interp, summary, jsonPath, htmlPath, warnings };
}

/** Both error rates, as fastai users compare them after learn.tta(). */
export function formatTta(t: TtaSummary): string {
  return `\nerror_rate (plain): ${t.plainErrorRate.toFixed(4)}\nerror_rate (TTA, n=${t.n}, beta=${t.beta ?? 'none'}): ${t.errorRate.toFixed(4)}  (${t.count} validation images)\n`;
}
