import { DataError } from './errors';
import { Rng, Stream } from './random';
import type { ItemList, LabelledDataset, SplitDataset, SplitOptions } from './types';

/**
 * Train/validation split. A layout that fixes the split (fixedValid) is kept as is; otherwise
 * floor(validPct·n) items chosen by a permutation seeded with `seed` go to validation
 * (fastai's random_split_by_pct). Seeded PRNG on integer keys: same seed → same split on every
 * machine. Both lists keep the dataset's (sorted) order.
 */
export function splitDataset(ds: LabelledDataset, opts: SplitOptions = {}): SplitDataset {
  const validPct = opts.validPct ?? 0.2;
  const seed = opts.seed ?? 42;
  if (!(validPct >= 0 && validPct < 1)) {
    throw new DataError(`validPct must be in [0, 1), got ${validPct}`, { fix: 'use e.g. 0.2 for 20% validation images' });
  }
  const n = ds.items.length;
  let isValid: boolean[];
  if (ds.fixedValid) {
    isValid = ds.fixedValid;
  } else {
    isValid = new Array<boolean>(n).fill(false);
    const perm = new Rng(seed, Stream.split).permutation(n);
    const cut = Math.floor(validPct * n);
    for (let k = 0; k < cut; k++) isValid[perm[k]] = true;
  }
  const classIndex = new Map(ds.classes.map((c, i) => [c, i]));
  const train: ItemList = { items: [], y: [] };
  const valid: ItemList = { items: [], y: [] };
  for (let i = 0; i < n; i++) {
    const list = isValid[i] ? valid : train;
    list.items.push(ds.items[i]);
    list.y.push(classIndex.get(ds.labels[i])!);
  }
  if (train.items.length === 0) {
    throw new DataError('The training set is empty', { file: ds.root, fix: 'lower validPct or add training images' });
  }
  return { root: ds.root, rule: ds.rule, classes: ds.classes, c: ds.c, train, valid, skipped: ds.skipped };
}
