import { Rng, Stream } from './random';
import type { ImageNorm, ItemPlan } from './item';
import { planItem, type Pipeline } from './pipeline';
import type { Executor } from './pool';
import type { Job } from './job';
import type { Batch, DataLoader, ItemList, SkippedFile } from './types';

export interface LoaderConfig {
  list: ItemList;
  size: number;
  bs: number;
  /** Training: shuffled (if shuffle), random crop + augmentation, last partial batch dropped (unless dropLast false). */
  train: boolean;
  shuffle: boolean;
  /** Default: train. TTA augments the validation set without dropping any of it. */
  dropLast?: boolean;
  pipeline: Pipeline;
  seed: number;
  norm: ImageNorm;
  prefetch: number;
  executor: Executor;
  onSkip: (s: SkippedFile) => void;
}

/**
 * Yields batches in order while the next `prefetch` batches load in the executor. Each pass is
 * one epoch: the first pass is epoch 0, each later pass the next epoch, unless setEpoch() pins
 * it. Batch content depends only on (seed, epoch, item), so it is identical for any worker count.
 * A file that fails to decode is dropped from its batch (n shrinks by one) and reported once.
 */
export class ImageDataLoader implements DataLoader {
  readonly length: number;
  readonly itemCount: number;
  private epoch = 0;

  constructor(readonly cfg: LoaderConfig) {
    const n = cfg.list.items.length;
    this.itemCount = n;
    // drop_last only when there is at least one full batch; a tiny set still gives one batch
    this.length = !(cfg.dropLast ?? cfg.train) ? Math.ceil(n / cfg.bs) : n >= cfg.bs ? Math.floor(n / cfg.bs) : n > 0 ? 1 : 0;
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    const epoch = this.epoch++;
    return this.pass(epoch);
  }

  /** Item indices of one epoch, in the order batches take them. */
  order(epoch: number): number[] {
    const n = this.itemCount;
    return this.cfg.train && this.cfg.shuffle ? new Rng(this.cfg.seed, Stream.shuffle, epoch).permutation(n) : Array.from({ length: n }, (_, i) => i);
  }

  /** What happens to item `index` in `epoch` (used by showBatch too, so it shows what training sees). */
  plan(epoch: number, index: number): ItemPlan {
    const { cfg } = this;
    return planItem(cfg.pipeline, cfg.list.items[index], cfg.size, cfg.train, cfg.seed, epoch, index);
  }

  private async *pass(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const inFlight: Promise<Batch>[] = [];
    let next = 0;
    const fill = () => {
      while (next < this.length && inFlight.length <= this.cfg.prefetch) inFlight.push(this.loadBatch(order, next++, epoch));
    };
    try {
      fill();
      while (inFlight.length) {
        const batch = await inFlight.shift()!;
        fill();
        if (batch.n > 0) yield batch;
      }
    } finally {
      for (const p of inFlight) p.catch(() => undefined); // abandoned by an early break
    }
  }

  private async loadBatch(order: number[], b: number, epoch: number): Promise<Batch> {
    const { size, bs, executor, norm } = this.cfg;
    const idx = order.slice(b * bs, Math.min((b + 1) * bs, order.length));
    const per = size * size * 3;
    const pixels = new SharedArrayBuffer(idx.length * per * 4);
    const plans = idx.map((i) => this.plan(epoch, i));
    const parts = Math.max(1, executor.workers);
    const chunk = Math.ceil(plans.length / parts);
    const jobs: Job[] = [];
    for (let s = 0; s < plans.length; s += chunk) jobs.push({ plans: plans.slice(s, s + chunk), first: s, pixels, norm });
    const failures = await executor.run(jobs);

    const x = new Float32Array(pixels);
    const failed = new Set(failures.map((f) => f.index));
    for (const f of failures) this.cfg.onSkip({ file: f.file, reason: `could not be decoded: ${f.reason}` });
    let n = 0;
    const y: number[] = [];
    const files: string[] = [];
    for (let k = 0; k < idx.length; k++) {
      if (failed.has(k)) continue;
      if (n !== k) x.copyWithin(n * per, k * per, (k + 1) * per);
      y.push(this.cfg.list.y[idx[k]]);
      files.push(this.cfg.list.items[idx[k]]);
      n++;
    }
    return { x: n === idx.length ? x : x.subarray(0, n * per), y: Int32Array.from(y), n, size, files };
  }
}
