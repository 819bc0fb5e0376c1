// Changing a DataBunch's batch size (memory guard) or image size (progressive resizing) in place:
// the learner holds the DataBunch object, so new loaders are swapped into it rather than handing
// the learner a new one. Split, seed and transforms are kept (rebuildDataBunch).
import type { DataBunch } from '../data/types';
import { parts } from './parts';

export interface LoaderOptions {
  numWorkers?: number;
  seed?: number;
}

/** New loaders at batch size `bs` (and optionally another image size) swapped into `data`; the old loaders' workers are closed. */
export async function swapLoaders(data: DataBunch, bs: number, opts: LoaderOptions & { size?: number } = {}): Promise<void> {
  await parts.data().rebuildDataBunch(data, { bs, ...(opts.size !== undefined ? { size: opts.size } : {}), ...(opts.numWorkers !== undefined ? { numWorkers: opts.numWorkers } : {}) });
}
