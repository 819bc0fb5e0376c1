// Which transforms a DataBunch applies: the dataset options (src/protocol/dataset.ts) resolved
// against fastai's defaults, checked once, and turned into each item's plan.
import { DEFAULT_TRANSFORM_SPEC, type AugMode, type PadMode, type ResizeMethod, type TransformSpec } from '../../protocol/dataset';
import { resolveTransforms, sampleAugment } from './augment';
import { DataError } from './errors';
import { CENTRE_CROP_VIEW, validationPlan, type InferenceView, type ItemPlan } from './item';
import { sampleAugmentV2, sampleResizePcts } from './transforms';
import type { TransformOptions } from './types';

export interface Pipeline {
  aug: AugMode;
  resize: ResizeMethod;
  padMode: PadMode;
  minScale: number;
  presize: number;
  /** The augmentation's magnitudes and probabilities (v1 and v2 share them); null when aug is none. */
  tfms: TransformOptions | null;
}

/** `tfms: false` (the older switch) means aug none; presize defaults to size (item_tfms=Resize(size)). */
export function resolvePipeline(spec: TransformSpec & { tfms?: Partial<TransformOptions> | false }, size: number): Pipeline {
  const aug: AugMode = spec.aug ?? (spec.tfms === false ? 'none' : DEFAULT_TRANSFORM_SPEC.aug);
  const p: Pipeline = {
    aug,
    resize: spec.resize ?? DEFAULT_TRANSFORM_SPEC.resize,
    padMode: spec.padMode ?? DEFAULT_TRANSFORM_SPEC.padMode,
    minScale: spec.minScale ?? DEFAULT_TRANSFORM_SPEC.minScale,
    presize: spec.presize ?? size,
    tfms: aug === 'none' ? null : resolveTransforms(spec.tfms === false ? undefined : spec.tfms),
  };
  if (!(p.minScale > 0 && p.minScale <= 1)) throw new DataError(`minScale must be in (0, 1], got ${p.minScale}`, { fix: 'pass a min scale such as 0.35, 0.75 or 1 (off)' });
  if (!Number.isInteger(p.presize) || p.presize < size) {
    throw new DataError(`presize must be a whole number ≥ the image size ${size}, got ${p.presize}`, { fix: `pass a presize ≥ ${size} (fastai's lesson: 460 for 224)` });
  }
  if (aug === 'v1' && (p.resize !== 'crop' || p.minScale !== 1 || p.presize !== size)) {
    throw new DataError('fastai v1\'s get_transforms() only crops: resize, min scale and presize belong to the v2 pipeline', {
      fix: 'use aug v2 (aug_transforms) or none with those options, or drop them for v1',
    });
  }
  if (aug === 'none' && p.minScale < 1 && p.resize !== 'crop') {
    throw new DataError('with aug none, min scale < 1 means item_tfms=RandomResizedCrop, which replaces Resize', { fix: 'drop the resize method, or use aug v2' });
  }
  return p;
}

/** What happens to item `index` of a split in `epoch`: training draws, validation the centred/neutral ones. */
export function planItem(p: Pipeline, file: string, size: number, augment: boolean, seed: number, epoch: number, index: number): ItemPlan {
  if (!augment && p.aug !== 'v1') return validationPlan(file, size, inferenceViewOf(p), p.presize);
  if (p.aug === 'v1') return { file, size, augment: augment && p.tfms ? sampleAugment(p.tfms, seed, epoch, index) : null };
  const base = { file, size, padMode: p.padMode };
  if (p.aug === 'none' && p.minScale < 1) {
    return { ...base, item: { kind: 'randomResizedCrop', minScale: p.minScale, key: [seed, epoch, index] }, batch: null };
  }
  const pcts: [number, number] = p.resize !== 'squish' ? sampleResizePcts(seed, epoch, index) : [0.5, 0.5];
  const batch = p.aug === 'v2' && p.tfms ? sampleAugmentV2({ ...p.tfms, minScale: p.minScale, presize: p.presize }, seed, epoch, index) : null;
  return { ...base, item: { kind: 'resize', method: p.resize, presize: p.presize, pcts }, batch };
}

/**
 * How validation (and so inference) turns an image into size×size: Resize's method, or
 * RandomResizedCrop's centre view; fastai v1 validates with the centre crop.
 */
export function inferenceViewOf(p: Pipeline): InferenceView {
  if (p.aug === 'v1') return CENTRE_CROP_VIEW;
  if (p.aug === 'none' && p.minScale < 1) return { method: 'randomResizedCrop' };
  return p.resize === 'pad' ? { method: 'pad', padMode: p.padMode } : { method: p.resize };
}

/** One line for logs and the wizard: what a fastai user would write. */
export function describePipeline(p: Pipeline, size: number): string {
  const item = p.aug === 'none' && p.minScale < 1
    ? `RandomResizedCrop(${size}, min_scale=${p.minScale})`
    : `Resize(${p.aug === 'v2' ? p.presize : size}, method='${p.resize}'${p.resize === 'pad' ? `, pad_mode='${p.padMode}'` : ''})`;
  if (p.aug === 'v1') return `get_transforms() (fastai v1), size ${size}`;
  if (p.aug === 'none') return `item_tfms=${item}`;
  return `item_tfms=${item}, batch_tfms=aug_transforms(size=${size}${p.minScale < 1 ? `, min_scale=${p.minScale}` : ''})`;
}
