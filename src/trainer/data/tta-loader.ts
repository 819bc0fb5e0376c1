import { bunchSettings } from './databunch';
import { ImageDataLoader } from './loader';
import type { DataBunch, DataLoader } from './types';

/**
 * fastai's tta() loader: the validation items in order, none dropped, with the training
 * transforms (split_idx=0). Each pass (setEpoch) draws other augmentations. Shares the bunch's workers.
 */
export function ttaLoader(data: DataBunch): DataLoader {
  const s = bunchSettings(data);
  if (!s) throw new Error('ttaLoader needs a DataBunch made by createDataBunch');
  const v = s.validLoader.cfg;
  // Another seed than training's, so pass i never replays the train loader's epoch-i draws of the same index.
  return new ImageDataLoader({ ...v, train: true, shuffle: false, dropLast: false, seed: s.seed + 7919 });
}
