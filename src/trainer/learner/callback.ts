// The training loop's extension points (fastai's design): every behaviour beyond forward, loss,
// backward and step — schedules, recording, progress, metrics, lr_find — is a Callback.
import type { Batch } from '../data/types';
import type { Learner } from './learner';

export type RunKind = 'fit' | 'fit_one_cycle' | 'lr_find';
export type RunStatus = 'completed' | 'stopped' | 'failed';

/** One validation batch's outputs, as host arrays. */
export interface ValidBatchOutput {
  logits: Float32Array; // n × c
  targets: Int32Array;
  losses: Float32Array; // per-item cross-entropy
  n: number;
  c: number;
  files: string[];
}

/** Mutable state of one run (a fit, a fit_one_cycle or an lr_find), shared by its callbacks. */
export interface RunContext {
  readonly learner: Learner;
  readonly runId: string;
  readonly kind: RunKind;
  readonly nEpochs: number;
  readonly batchesPerEpoch: number;
  readonly totalSteps: number;
  /** Max lr per layer group, for display. */
  readonly maxLrs: number[];
  epoch: number;
  /** Batch index within the epoch. */
  iter: number;
  /** Batch index within the run. */
  step: number;
  batch?: Batch;
  /** Raw loss of the last training batch. */
  loss: number;
  /** fastai smoothed loss (β 0.98, bias-corrected) over this run's batches. */
  smoothLoss: number;
  /** Set by a callback in afterLoss to skip this batch's optimiser step. */
  skipStep: boolean;
  /** Set by a callback (e.g. lr_find) to skip validation. */
  skipValidate: boolean;
  /** Set by a callback to end the run after this batch (status stays 'completed'). */
  stopTraining: boolean;
  /** Results of the last validation pass (null when skipped). */
  validLoss: number | null;
  metrics: Record<string, number>;
  /** Seconds spent on training batches in this epoch, and the images they held. */
  epochTrainSeconds: number;
  epochTrainImages: number;
  epochStartedAt: number;
}

export interface Callback {
  /** Lower runs first (fastai _order). */
  readonly order?: number;
  beginFit?(ctx: RunContext): void | Promise<void>;
  beginEpoch?(ctx: RunContext): void | Promise<void>;
  beginBatch?(ctx: RunContext): void | Promise<void>;
  afterLoss?(ctx: RunContext): void | Promise<void>;
  afterStep?(ctx: RunContext): void | Promise<void>;
  afterBatch?(ctx: RunContext): void | Promise<void>;
  beginValidate?(ctx: RunContext): void | Promise<void>;
  afterValidBatch?(ctx: RunContext, out: ValidBatchOutput): void | Promise<void>;
  afterValidate?(ctx: RunContext): void | Promise<void>;
  afterEpoch?(ctx: RunContext): void | Promise<void>;
  afterFit?(ctx: RunContext, status: RunStatus, error?: Error): void | Promise<void>;
}

export type CallbackHook = Exclude<keyof Callback, 'order'>;
