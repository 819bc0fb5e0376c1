import { existsSync } from 'fs';
import * as os from 'os';
import { DataError } from './errors';
import { IMAGENET_STATS, type ImageNorm } from './item';
import { ImageDataLoader } from './loader';
import { resolvePipeline, type Pipeline } from './pipeline';
import { InProcessExecutor, WorkerPool, WORKER_SCRIPT, type Executor } from './pool';
import type { DataBunch, DataBunchOptions, SkippedFile, SplitDataset } from './types';

/** What showBatch, TTA and a size change need to reproduce a bunch's pipeline. */
export interface BunchSettings {
  size: number;
  seed: number;
  pipeline: Pipeline;
  norm: ImageNorm;
  shuffleTrain: boolean;
  trainLoader: ImageDataLoader;
  validLoader: ImageDataLoader;
  /** The options it was created with, for rebuildDataBunch. */
  options: DataBunchOptions;
}
const settings = new WeakMap<DataBunch, BunchSettings>();
export function bunchSettings(bunch: DataBunch): BunchSettings | undefined {
  return settings.get(bunch);
}

/**
 * fastai's ImageDataBunch: the split dataset as training and validation loaders (float32 NHWC,
 * imagenet_stats by default) that decode and augment in `numWorkers` worker threads.
 * Call close() when done (idle workers never keep the process alive, but they hold memory).
 */
export async function createDataBunch(split: SplitDataset, opts: DataBunchOptions = {}): Promise<DataBunch> {
  const size = opts.size ?? 224;
  const bs = opts.bs ?? 64;
  const seed = opts.seed ?? 42;
  let numWorkers = opts.numWorkers ?? os.cpus().length;
  const prefetch = opts.prefetch ?? 2;
  requireInt('size', size, 8);
  requireInt('bs', bs, 1);
  requireInt('numWorkers', numWorkers, 0);
  requireInt('prefetch', prefetch, 0);
  const norm = opts.normalize ?? IMAGENET_STATS;
  const pipeline = resolvePipeline(opts, size);
  const shuffleTrain = opts.shuffleTrain ?? true;

  if (numWorkers > 0 && !existsSync(WORKER_SCRIPT)) numWorkers = 0; // running from TypeScript sources: no compiled worker
  const executor: Executor = numWorkers > 0 ? new WorkerPool(numWorkers) : new InProcessExecutor();

  const skippedWhileLoading: SkippedFile[] = [];
  const seen = new Set<string>();
  const onSkip = (s: SkippedFile) => {
    if (seen.has(s.file)) return;
    seen.add(s.file);
    skippedWhileLoading.push(s);
    if (opts.onSkip) opts.onSkip(s);
    else console.warn(`image-trainer: skipped ${s.file}: ${s.reason}`);
  };
  const common = { size, bs, seed, norm, prefetch, executor, onSkip };
  const trainLoader = new ImageDataLoader({ ...common, list: split.train, train: true, shuffle: shuffleTrain, pipeline });
  const validLoader = new ImageDataLoader({ ...common, list: split.valid, train: false, shuffle: false, pipeline });
  const bunch: DataBunch = {
    dataset: split,
    classes: split.classes,
    c: split.c,
    size,
    bs,
    train: trainLoader,
    valid: validLoader,
    normalize: norm,
    close: () => executor.close(),
    skippedWhileLoading,
  };
  settings.set(bunch, { size, seed, pipeline, norm, shuffleTrain, trainLoader, validLoader, options: { ...opts } });
  return bunch;
}

export interface DataChanges {
  size?: number;
  bs?: number;
  /** Default: the old presize scaled with the size (460 for 224 → 263 for 128). */
  presize?: number;
  numWorkers?: number;
}

/**
 * Progressive resizing (the lesson's `learn.data = data_256`): new loaders at another image size
 * and/or batch size, same split, seed and transforms, swapped into the same DataBunch object, so a
 * learner holding it keeps its weights and optimiser. The old loaders' workers are closed.
 */
export async function rebuildDataBunch(data: DataBunch, changes: DataChanges): Promise<DataBunch> {
  const s = settings.get(data);
  if (!s) throw new DataError('This DataBunch was not made by createDataBunch', { fix: 'create the data with createDataBunch' });
  const size = changes.size ?? data.size;
  const userPresize = s.options.presize;
  const presize = changes.presize ?? (userPresize === undefined ? undefined : Math.max(size, Math.round((userPresize * size) / data.size)));
  const options: DataBunchOptions = { ...s.options, size, bs: changes.bs ?? data.bs, presize, ...(changes.numWorkers !== undefined ? { numWorkers: changes.numWorkers } : {}) };
  const fresh = await createDataBunch(data.dataset, options);
  const closeOld = data.close;
  fresh.skippedWhileLoading?.unshift(...(data.skippedWhileLoading ?? []));
  Object.assign(data, { size: fresh.size, bs: fresh.bs, train: fresh.train, valid: fresh.valid, close: fresh.close, skippedWhileLoading: fresh.skippedWhileLoading });
  settings.set(data, settings.get(fresh)!);
  await closeOld();
  return data;
}

function requireInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new DataError(`${name} must be an integer ≥ ${min}, got ${v}`, { fix: `pass a valid ${name} (defaults: size 224, bs 64, numWorkers = CPU cores)` });
  }
}
