// The standard callbacks, one file each.
export { Recorder } from './recorder';
export { AccuracyMetric } from './accuracy';
export { Timer } from './timer';
export { ConstantLr } from './constant-lr';
export { OneCycleScheduler } from './one-cycle';
export { LrFinder } from './lr-finder';
export { ProgressEvents } from './progress-events';
export { MixedPrecision, type AmpMode, type MixedPrecisionOptions } from './mixed-precision';
export { TerminateOnNaN } from './terminate-on-nan';
export { RequireBatches } from './require-batches';
export { FineTuneSchedule, type FineTunePlan, type FineTunePhase } from './fine-tune';
export { TrackerCallback, PatienceTracker, EarlyStoppingCallback, SaveModelCallback, ReduceLROnPlateau, CSVLogger, MONITORS, type Monitor, type TrackerOptions } from './tracker';
export { MixUp, sampleBeta, sampleGamma, mixBatch, mixedLoss, type MixUpOptions } from './mixup';
