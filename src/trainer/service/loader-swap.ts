// Changing a DataBunch's batch size in place: the learner holds the DataBunch object, so new
// loaders are swapped into it rather than handing the learner a new one.
import type { DataBunch, SplitDataset } from '../data/types';
import { parts } from './parts';

export interface LoaderOptions {
  numWorkers?: number;
  seed?: number;
}

/** New loaders at batch size `bs` swapped into `data`; the old loaders' workers are closed. */
export async function swapLoaders(data: DataBunch, dataset: SplitDataset, bs: number, opts: LoaderOptions): Promise<void> {
  const fresh = await parts.data().createDataBunch(dataset, { size: data.size, bs, ...opts });
  const closeOld = data.close;
  fresh.skippedWhileLoading?.unshift(...(data.skippedWhileLoading ?? []));
  Object.assign(data, { bs, train: fresh.train, valid: fresh.valid, close: fresh.close, skippedWhileLoading: fresh.skippedWhileLoading });
  await closeOld();
}
