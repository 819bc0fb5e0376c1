import { existsSync } from 'fs';
import * as os from 'os';
import { DataError } from './errors';
import { resolveTransforms } from './augment';
import { IMAGENET_STATS, type ImageNorm } from './item';
import { ImageDataLoader } from './loader';
import { InProcessExecutor, WorkerPool, WORKER_SCRIPT, type Executor } from './pool';
import type { DataBunch, DataBunchOptions, SkippedFile, SplitDataset, TransformOptions } from './types';

/** What showBatch needs to reproduce a bunch's pipeline. */
export interface BunchSettings {
  size: number;
  seed: number;
  tfms: TransformOptions | null;
  norm: ImageNorm;
  shuffleTrain: boolean;
  trainLoader: ImageDataLoader;
  validLoader: ImageDataLoader;
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
  const tfms = resolveTransforms(opts.tfms);
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
  const trainLoader = new ImageDataLoader({ ...common, list: split.train, train: true, shuffle: shuffleTrain, tfms });
  const validLoader = new ImageDataLoader({ ...common, list: split.valid, train: false, shuffle: false, tfms: null });
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
  settings.set(bunch, { size, seed, tfms, norm, shuffleTrain, trainLoader, validLoader });
  return bunch;
}

function requireInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new DataError(`${name} must be an integer ≥ ${min}, got ${v}`, { fix: `pass a valid ${name} (defaults: size 224, bs 64, numWorkers = CPU cores)` });
  }
}
