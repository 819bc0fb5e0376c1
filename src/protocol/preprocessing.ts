// How an image becomes the model's input at inference: the validation view of the run's item
// transforms (fastai v2's learn.export() pickles the DataLoaders' after_item, so load_learner's
// predict sees what validation saw). Written into checkpoints and every export's metadata, read
// back from untrusted folders, and applied by every predict path through the validation decoder.
import { z } from 'zod';
import { PadMode, RESIZE_METHODS } from './dataset';

/**
 * crop: short side to size, centre size×size (Resize(size) and fastai v1's validation); squish: the
 * whole image stretched to size×size; pad: long side to size, padded to a square with padMode;
 * randomResizedCrop: RandomResizedCrop's validation view (squish to size + val_xtra, centre size×size).
 */
export const INFERENCE_RESIZES = [...RESIZE_METHODS, 'randomResizedCrop'] as const;
export const InferenceResize = z.enum(INFERENCE_RESIZES);
export type InferenceResize = z.infer<typeof InferenceResize>;

const Finite = z.number().finite();
export const Normalization = z.object({
  mean: z.tuple([Finite, Finite, Finite]),
  std: z.tuple([Finite.positive(), Finite.positive(), Finite.positive()]),
});

export const Preprocessing = z.object({
  size: z.number().int().min(8).max(1024),
  normalize: Normalization,
  /** Missing in exports made before it was recorded: they always used the centre crop. */
  method: InferenceResize.default('crop'),
  /** How pad fills outside the image (default reflection); only pad uses it. */
  padMode: PadMode.optional(),
});
/** What the parse gives (method always set). */
export type Preprocessing = z.output<typeof Preprocessing>;

/** The validation view's resize, in a fastai user's words (model cards, logs). */
export function describeInferenceResize(p: Pick<Preprocessing, 'size' | 'method' | 'padMode'>): string {
  const s = p.size;
  switch (p.method) {
    case 'crop':
      return `resize the short side to ${s} px and centre-crop ${s}×${s} (fastai Resize(${s}, method='crop') on validation)`;
    case 'squish':
      return `resize the whole image to ${s}×${s}, ignoring its aspect ratio (fastai Resize(${s}, method='squish'))`;
    case 'pad':
      return `resize the long side to ${s} px and pad to ${s}×${s} with ${p.padMode ?? 'reflection'} padding, image centred (fastai Resize(${s}, method='pad', pad_mode='${p.padMode ?? 'reflection'}'))`;
    case 'randomResizedCrop':
      return `resize the whole image to ${rrcValidSide(s)}×${rrcValidSide(s)}, ignoring its aspect ratio, and centre-crop ${s}×${s} (fastai RandomResizedCrop(${s}) on validation)`;
  }
}

/** fastai RandomResizedCrop's validation size: size + ceil(size·val_xtra / 8)·8, val_xtra 0.14. */
export const RRC_VAL_XTRA = 0.14;
export function rrcValidSide(size: number, valXtra = RRC_VAL_XTRA): number {
  return size + Math.ceil((size * valXtra) / 8) * 8;
}

/** A zod failure as one line for an error message: the first few paths and what is wrong. */
export function describeIssues(error: z.ZodError, root: string): string {
  return error.issues.slice(0, 4).map((i) => `${[root, ...i.path].join('.')}: ${i.message}`).join('; ');
}

/** The fix for a bad preprocessing block in a model folder. */
export const PREPROCESSING_FIX = `Set preprocessing.method to one of ${INFERENCE_RESIZES.join(', ')} (or remove it for the centre crop), size to a whole number from 8 to 1024 and three positive stds, or export the model again`;
