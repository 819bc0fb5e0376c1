// An opened dataset as the trainer describes it (openDataset's answer and the dataset event).
import { z } from 'zod';

export const ClassCount = z.object({ name: z.string(), train: z.number().int(), valid: z.number().int() });
export type ClassCount = z.infer<typeof ClassCount>;

export const DatasetSummary = z.object({
  root: z.string(),
  rule: z.record(z.string(), z.unknown()),
  classes: z.array(z.string()),
  counts: z.array(ClassCount),
  trainCount: z.number().int(),
  validCount: z.number().int(),
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

/** fastai show_batch: sample images with their labels; `src` is what a page loads (a data: URL or a webview URI). */
export const DatasetBatch = z.object({
  split: z.enum(['train', 'valid']),
  items: z.array(z.object({ file: z.string(), src: z.string().optional(), label: z.string() })),
});
export type DatasetBatch = z.infer<typeof DatasetBatch>;
