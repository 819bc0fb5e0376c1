// What `image-trainer interpret` does once the CLI has a learner: one validation pass, the most
// confused pairs and top losses printed as plain text, and OUT/interpretation.json + OUT/report.html
// with thumbnails and Grad-CAM overlays for the top losses.
import type { EventSink } from '../../protocol/events';
import type { ClassifierModel } from '../models/types';
import { IMAGENET_STATS, type Normalization } from './image-input';
import { gradCamForFile, type GradCamSource } from './gradcam';
import { ClassificationInterpretation, type PredictionSource } from './interpretation';
import { makeThumbnail, writeReport } from './report';
import { formatInterpretationText, type InterpretationSummary } from './summary';

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
  const t0 = Date.now();
  const interp = await ClassificationInterpretation.fromLearner(opts.learner);
  log('info', `interpretation: ${interp.length} validation images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const top = interp.topLosses(k);
  const thumbnails = new Map<string, Buffer>();
  const heatmaps = new Map<string, Buffer>();
  const warnings: string[] = [];
  const { model, data } = opts.learner;
  const camSource: GradCamSource | null =
    model && data.size !== undefined ? { model, data: { classes: data.classes, size: data.size, normalize: data.normalize ?? IMAGENET_STATS } } : null;
  const wantHeat = opts.heatmaps ?? camSource !== null;
  for (const t of top) {
    try {
      thumbnails.set(t.file, await makeThumbnail(t.file));
    } catch (err) {
      warnings.push(`${t.file}: no preview (${(err as Error).message})`);
      continue;
    }
    if (wantHeat && camSource) {
      try {
        heatmaps.set(t.file, (await gradCamForFile(camSource, t.file, { outSize: 224 })).png);
      } catch (err) {
        warnings.push(`${t.file}: no heatmap (${(err as Error).message})`);
      }
    }
  }
  for (const w of warnings) log('warn', w);

  const { jsonPath, htmlPath, summary } = await writeReport(opts.outDir, interp, { k, thumbnails, heatmaps, title: opts.title });
  out.write(formatInterpretationText(summary));
  out.write(`\nWrote ${jsonPath}\nWrote ${htmlPath}\n`);
  return { interp, summary, jsonPath, htmlPath, warnings };
}
