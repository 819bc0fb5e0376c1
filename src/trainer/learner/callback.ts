// The training loop's extension points (fastai v2's Callback): every behaviour beyond forward,
// loss, backward and step — schedules, recording, timing, progress, metrics, lr_find, loss
// scaling — is a Callback. Hooks carry v2's names in camelCase (before_fit → beforeFit).
import type { tf } from '../backend';
import type { Batch } from '../data/types';
import type { RunEndStatus, RunKind } from '../../protocol/runs';
import type { Learner } from './learner';
import type { LrFindResult } from './types';

export type { RunKind };
export type RunStatus = RunEndStatus;

/** One batch's outputs as host arrays (validation batches only). */
export interface ValidBatchOutput {
  logits: Float32Array; // n × c
  targets: Int32Array;
  losses: Float32Array; // per-item loss
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
  /** Planned training batches of the run (lr_find: numIt). */
  readonly totalSteps: number;
  /** Max lr per layer group, for display. */
  readonly maxLrs: number[];
  /** 'completed' until the run is stopped or fails; callbacks read it in afterFit. */
  status: RunStatus;
  error?: Error;
  /** True in the training pass of an epoch, false in validation (fastai learn.training). */
  training: boolean;
  epoch: number;
  /** Batch index within the pass. */
  iter: number;
  /** Training batch index within the run (fastai train_iter). */
  step: number;
  batch?: Batch;
  /** Multiplier on the loss the gradients are taken of (MixedPrecision sets it); 1 otherwise. */
  lossScale: number;
  /** Gradients of the current training batch, between afterBackward and afterStep. */
  grads?: tf.NamedTensorMap;
  /** Loss of the current batch (mean over its items). */
  loss: number;
  /** Host outputs of the current validation batch (set before afterLoss). */
  out?: ValidBatchOutput;
  /** Recorder's smoothed training loss (β 0.98, bias-corrected) over this run's batches. */
  smoothLoss: number;
  /** Mean validation loss of the last validation pass (null when none ran). */
  validLoss: number | null;
  metrics: Record<string, number>;
  /** fine_tune's phase of the current epoch (set by FineTuneSchedule); undefined in other runs. */
  phase?: 'frozen' | 'unfrozen';
  /** fine_tune's epochs with the body frozen (set by FineTuneSchedule before fit_begin). */
  frozenEpochs?: number;
  /** Set by the LrFinder when its sweep ends. */
  lrFindResult?: LrFindResult;
  /** Set by the Timer in afterEpoch. */
  epochSeconds: number;
  trainImagesPerSecond: number;
}

type Hook = (ctx: RunContext) => void | Promise<void>;

export interface Callback {
  /** Lower runs first (fastai order). */
  readonly order?: number;
  beforeFit?: Hook;
  beforeEpoch?: Hook;
  beforeTrain?: Hook;
  beforeBatch?: Hook;
  afterPred?: Hook;
  afterLoss?: Hook;
  beforeBackward?: Hook;
  afterBackward?: Hook;
  beforeStep?: Hook;
  afterStep?: Hook;
  afterBatch?: Hook;
  afterTrain?: Hook;
  beforeValidate?: Hook;
  afterValidate?: Hook;
  afterEpoch?: Hook;
  afterFit?: Hook;
  afterCancelBatch?: Hook;
  afterCancelStep?: Hook;
  afterCancelTrain?: Hook;
  afterCancelValidate?: Hook;
  afterCancelEpoch?: Hook;
  afterCancelFit?: Hook;
}

export type CallbackHook = Exclude<keyof Callback, 'order'>;

// fastai's cancellation: a callback raises one of these to skip the rest of that stage; the loop
// catches it at the stage's boundary, fires afterCancel<Stage>, then after<Stage>.
export class CancelBatchException extends Error {}
export class CancelStepException extends Error {}
export class CancelTrainException extends Error {}
export class CancelValidException extends Error {}
export class CancelEpochException extends Error {}
export class CancelFitException extends Error {}
