// Wall time of each epoch and the training throughput (images per second of training batches).
import type { Callback, RunContext } from '../callback';

export class Timer implements Callback {
  /** First in, so a batch's time covers every other callback's work on it. */
  readonly order = -10;
  private epochStart = 0;
  private batchStart = 0;
  private trainSeconds = 0;
  private trainImages = 0;

  beforeEpoch(): void {
    this.epochStart = performance.now();
    this.trainSeconds = 0;
    this.trainImages = 0;
  }

  beforeBatch(ctx: RunContext): void {
    if (ctx.training) this.batchStart = performance.now();
  }

  afterBatch(ctx: RunContext): void {
    if (!ctx.training || !ctx.batch) return;
    this.trainSeconds += (performance.now() - this.batchStart) / 1000;
    this.trainImages += ctx.batch.n;
  }

  afterEpoch(ctx: RunContext): void {
    ctx.epochSeconds = (performance.now() - this.epochStart) / 1000;
    ctx.trainImagesPerSecond = this.trainSeconds > 0 ? this.trainImages / this.trainSeconds : 0;
  }
}
