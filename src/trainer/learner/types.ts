// Contract of the learner as the CLI, the child process and interpretation call it.
import type { ClassifierModel } from '../models/types';
import type { DataBunch } from '../data/types';
import type { EventSink } from '../../protocol/events';

export type { LrSpec } from '../../protocol/lr';
export type { EpochRecord, LrFindResult } from '../../protocol/runs';

export interface OneCycleOptions {
  moms?: [number, number]; // (0.95, 0.85)
  divFactor?: number; // 25
  pctStart?: number; // 0.3
  finalDiv?: number; // divFactor * 1e4
  wd?: number; // 1e-2
}

/** fastai v2 fine_tune's arguments (defaults as v2). */
export interface FineTuneOptions {
  baseLr?: number; // 2e-3
  freezeEpochs?: number; // 1
  lrMult?: number; // 100
  pctStart?: number; // 0.3
  div?: number; // 5
  wd?: number;
}

export interface LrFindOptions {
  startLr?: number; // 1e-7
  endLr?: number; // 10
  numIt?: number; // 100
  stopDiv?: boolean; // true
}

/** Validation-set predictions, the input of interpretation. */
export interface Predictions {
  files: string[];
  targets: number[];
  probs: Float32Array[]; // softmax per item
  losses: number[]; // cross-entropy per item
}

export interface PredictResult {
  className: string;
  index: number;
  probs: number[];
}

export interface LearnerOptions {
  data: DataBunch;
  model: ClassifierModel;
  /** Run folder; checkpoints go to `${path}/models`. */
  path: string;
  wd?: number; // 1e-2
  onEvent?: EventSink;
  /**
   * Weight decay on BatchNorm params and biases too. Unset: fastai v1's bn_wd=True for fit,
   * fit_one_cycle and lr_find (the lesson), v2's wd_bn_bias=False for fine_tune.
   */
  bnWd?: boolean;
}
