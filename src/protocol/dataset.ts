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
  /** The loaders' transforms in fastai's words (item_tfms + batch_tfms), e.g. "item_tfms=Resize(460, method='crop'), batch_tfms=aug_transforms(size=224)". */
  transforms: z.string().optional(),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

/** fastai show_batch: sample images with their labels; `src` is what a page loads (a data: URL or a webview URI). */
export const DatasetBatch = z.object({
  split: z.enum(['train', 'valid']),
  items: z.array(z.object({ file: z.string(), src: z.string().optional(), label: z.string() })),
});
export type DatasetBatch = z.infer<typeof DatasetBatch>;

/**
 * How images become size×size tensors (fastai v2's item_tfms + batch_tfms). One source of truth
 * for the CLI flags, the dataset wizard and openDataset; defaults and their fastai names are in
 * docs/data.md.
 */
export const RESIZE_METHODS = ['crop', 'squish', 'pad'] as const;
export const PAD_MODES = ['reflection', 'zeros', 'border'] as const;
/** v2 = aug_transforms() on the GPU-style batch path, v1 = get_transforms() (the 2019 lesson), none = Resize only. */
export const AUG_MODES = ['v2', 'v1', 'none'] as const;
export const ResizeMethod = z.enum(RESIZE_METHODS);
export const PadMode = z.enum(PAD_MODES);
export const AugMode = z.enum(AUG_MODES);
export type ResizeMethod = z.infer<typeof ResizeMethod>;
export type PadMode = z.infer<typeof PadMode>;
export type AugMode = z.infer<typeof AugMode>;

export const TransformSpec = z.object({
  /** item_tfms=Resize(presize, method, pad_mode): default crop (random on train, centred on valid). */
  resize: ResizeMethod.optional(),
  /** Default reflection, for Resize(pad) and for the augmentation's out-of-image samples. */
  padMode: PadMode.optional(),
  /** Default v2. */
  aug: AugMode.optional(),
  /** aug_transforms(min_scale) (v2), or item_tfms=RandomResizedCrop(size, min_scale) with aug none. Default 1. */
  minScale: z.number().min(0.01).max(1).optional(),
  /** Presizing: the item transform's size before the batch augmentation crops to size (default: size). */
  presize: z.number().int().min(8).max(2048).optional(),
});
export type TransformSpec = z.infer<typeof TransformSpec>;
/** TransformSpec's keys: the CLI's transform flags and what a checkpoint records. */
export const TRANSFORM_KEYS = TransformSpec.keyof().options;
export const DEFAULT_TRANSFORM_SPEC = { resize: 'crop', padMode: 'reflection', aug: 'v2', minScale: 1 } as const;
