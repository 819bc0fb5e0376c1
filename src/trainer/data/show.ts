import sharp from 'sharp';
import type { TransformSpec } from '../../protocol/dataset';
import { bunchSettings } from './databunch';
import { resolvePipeline } from './pipeline';
import { IMAGENET_STATS, renderItem, toDisplayRgb, type ItemPlan } from './item';
import { ImageDataLoader } from './loader';
import { InProcessExecutor } from './pool';
import { Rng, Stream } from './random';
import type { DataBunch, SplitDataset, TransformOptions } from './types';

export interface ShowBatchOptions extends TransformSpec {
  /** Images to return. Default 9 (fastai show_batch rows=3). */
  n?: number;
  split?: 'train' | 'valid';
  /** Overrides the bunch's seed: another sample, other augmentations. */
  seed?: number;
  /** When given a SplitDataset: image size and transforms (defaults 224, aug_transforms()); with a DataBunch, tfms/aug override its own. */
  size?: number;
  tfms?: Partial<TransformOptions> | false;
  /** Thumbnail edge in pixels. Default 128. */
  thumbSize?: number;
}

export interface ShownImage {
  png: Buffer;
  label: string;
  file: string;
}

/**
 * Data for fastai's show_batch: the first n items of the first training batch (epoch 0, same
 * shuffle and augmentation the loader produces) or the first n validation items, as PNG
 * thumbnails with their labels. Files that fail to decode are left out.
 */
export async function showBatch(source: DataBunch | SplitDataset, opts: ShowBatchOptions = {}): Promise<ShownImage[]> {
  const n = opts.n ?? 9;
  const split = opts.split ?? 'train';
  const thumb = opts.thumbSize ?? 128;
  const ds: SplitDataset = 'dataset' in source ? source.dataset : source;
  const s = 'dataset' in source ? bunchSettings(source) : undefined;
  const size = s?.size ?? opts.size ?? 224;
  const override = opts.tfms !== undefined || opts.aug !== undefined || opts.resize !== undefined || opts.minScale !== undefined || opts.presize !== undefined;
  const pipeline = s && !override ? s.pipeline : resolvePipeline({ ...(s?.options ?? {}), ...opts }, size);
  const loader = new ImageDataLoader({
    list: split === 'train' ? ds.train : ds.valid,
    size,
    bs: n,
    train: split === 'train',
    shuffle: s?.shuffleTrain ?? true,
    pipeline,
    seed: opts.seed ?? s?.seed ?? 42,
    norm: s?.norm ?? IMAGENET_STATS,
    prefetch: 0,
    executor: new InProcessExecutor(),
    onSkip: () => undefined,
  });
  // the valid split is never shuffled for training, but a sample of it must follow the seed (Re-shuffle shows others)
  const order = split === 'train' ? loader.order(0).slice(0, n) : new Rng(opts.seed ?? s?.seed ?? 42, Stream.show).permutation(ds.valid.items.length).slice(0, n);
  const out: ShownImage[] = [];
  for (const index of order) {
    const plan: ItemPlan = loader.plan(0, index);
    try {
      const rgb = toDisplayRgb(await renderItem(plan));
      const png = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).resize(thumb, thumb).png().toBuffer();
      const list = split === 'train' ? ds.train : ds.valid;
      out.push({ png, label: ds.classes[list.y[index]], file: plan.file });
    } catch {
      // undecodable: the loader reports it; the grid just shows one image fewer
    }
  }
  return out;
}

/** Images per class in each split (fastai's class counts for the data summary). */
export function classCounts(split: SplitDataset): { name: string; train: number; valid: number }[] {
  const counts = split.classes.map((name) => ({ name, train: 0, valid: 0 }));
  for (const y of split.train.y) counts[y].train++;
  for (const y of split.valid.y) counts[y].valid++;
  return counts;
}
