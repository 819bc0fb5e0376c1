// Dynamic loss scaling for mixed precision (fastai v1 MixedPrecision defaults): scale the loss
// so small fp16 gradients survive, skip the step and halve the scale when a gradient overflows,
// double it after a run of clean steps.

export interface LossScalerOptions {
  initScale?: number; // 2^16
  growthFactor?: number; // 2
  backoffFactor?: number; // 0.5
  /** Clean steps before the scale grows (fastai max_noskip). */
  growthInterval?: number; // 1000
  maxScale?: number; // 2^24
  minScale?: number; // 1
}

export class DynamicLossScaler {
  scale: number;
  private cleanSteps = 0;
  readonly skipped: number[] = [];
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;
  private readonly maxScale: number;
  private readonly minScale: number;

  constructor(opts: LossScalerOptions = {}) {
    this.scale = opts.initScale ?? 2 ** 16;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 1000;
    this.maxScale = opts.maxScale ?? 2 ** 24;
    this.minScale = opts.minScale ?? 1;
  }

  /**
   * Record the outcome of one step. Returns true when the optimiser step should be applied
   * (all gradients finite), false when it must be skipped.
   */
  update(gradsFinite: boolean, step = 0): boolean {
    if (!gradsFinite) {
      this.scale = Math.max(this.minScale, this.scale * this.backoffFactor);
      this.cleanSteps = 0;
      this.skipped.push(step);
      return false;
    }
    this.cleanSteps += 1;
    if (this.cleanSteps >= this.growthInterval) {
      this.scale = Math.min(this.maxScale, this.scale * this.growthFactor);
      this.cleanSteps = 0;
    }
    return true;
  }
}
