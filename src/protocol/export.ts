// Export and prediction shapes that cross the child boundary (extension ↔ trainer) and the CLI's
// JSON output, plus the export defaults both sides use.
import { z } from 'zod';

/** native: this project's own format (tfjs weights + metadata); onnx: model.onnx; tfjs: a TF.js graph model. */
export const EXPORT_FORMATS = ['native', 'onnx', 'tfjs'] as const;
export const ExportFormatSchema = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

/** Every export folder holds this manifest; only a folder with it may be replaced by a later export. */
export const EXPORT_MANIFEST = 'image-trainer-export.json';
export const EXPORT_MANIFEST_FORMAT = 'image-trainer-export';

/**
 * Default export folder inside a run folder: `export` (native), `export-onnx`, `export-tfjs`.
 * Where the run folder is the dataset itself (the extension without a run folder), the export goes
 * under the dataset's hidden `.image-trainer/` so it can never collide with a class folder.
 */
export function defaultExportDirName(format: ExportFormat): string {
  return format === 'native' ? 'export' : `export-${format}`;
}
export const DATASET_PRIVATE_DIR = '.image-trainer';
/** The learner's checkpoint folder in its run folder (the dataset itself, as fastai). */
export const CHECKPOINT_DIR = 'models';

/**
 * Why a folder directly in a dataset is one this project writes (or a hidden one), never a class:
 * `.image-trainer/` and other hidden folders, the checkpoints (`models/`), exports (`export/`,
 * `export-<format>/`). Undefined for any other name. Folders holding an export manifest are
 * recognised by that file wherever they are (the data scanner checks it).
 */
export function projectFolderReason(name: string): string | undefined {
  if (name === DATASET_PRIVATE_DIR) return "Image Trainer's own folder";
  if (name.startsWith('.')) return 'hidden folder';
  if (name === CHECKPOINT_DIR) return 'the learner\'s checkpoints (Save Model), not a class';
  if (name === defaultExportDirName('native') || name.startsWith('export-')) return 'an exported model, not a class';
  return undefined;
}

/** The model card written beside every export. */
export const MODEL_CARD = 'README.md';

export const ExportParams = z.object({ dir: z.string().optional(), format: ExportFormatSchema.optional() });
export const ExportResult = z.object({ dir: z.string(), format: ExportFormatSchema, files: z.array(z.string()) });
export type ExportResult = z.infer<typeof ExportResult>;

export const PredictParams = z.object({
  files: z.array(z.string()).min(1),
  modelDir: z.string().optional(),
  /** Also return the k most probable classes of each image, most probable first. */
  topk: z.number().int().min(1).max(1000).optional(),
});

export const TopClass = z.object({ className: z.string(), index: z.number().int(), probability: z.number() });
export const Prediction = z.object({
  file: z.string(),
  className: z.string(),
  index: z.number().int(),
  probs: z.array(z.number()),
  top: z.array(TopClass).optional(),
});
export type Prediction = z.infer<typeof Prediction>;

/** The k most probable classes, most probable first (ties: lower index first). */
export function topK(probs: readonly number[], classes: readonly string[], k: number): z.infer<typeof TopClass>[] {
  return probs
    .map((probability, index) => ({ className: classes[index] ?? String(index), index, probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, Math.max(0, k));
}
