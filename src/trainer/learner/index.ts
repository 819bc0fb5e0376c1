// The learner's public API (see docs/learner.md).
export { Learner, crossEntropyPerItem, labelSmoothingCrossEntropy, type TrainingCallbackOptions, type RunOptions, type ValidationResult, type Fp16Status } from './learner';
export type { Callback, CallbackHook, RunContext, RunKind, RunStatus, ValidBatchOutput } from './callback';
export { CancelBatchException, CancelStepException, CancelTrainException, CancelValidException, CancelEpochException, CancelFitException } from './callback';
export { TrackerCallback, PatienceTracker, EarlyStoppingCallback, SaveModelCallback, ReduceLROnPlateau, CSVLogger, MONITORS } from './callbacks';
export { Recorder, AccuracyMetric, Timer, ConstantLr, OneCycleScheduler, LrFinder, ProgressEvents, MixedPrecision, type AmpMode, MixUp, sampleBeta, sampleGamma, mixBatch, mixedLoss, type MixUpOptions } from './callbacks';
export { AdamW, type AdamWOptions, type AdamWState } from './optimizer';
export { DynamicLossScaler, type LossScalerOptions } from './loss-scaler';
export { lrRange, evenMults } from './lr';
export { annealCos, annealExp, oneCycleAt, lrFindAt, type OneCycleParams } from './schedule';
export { minGradLr, valleyLr, valley, slide, minimum, steep, suggestLrs, suggestionWindow, numericalGradient } from './suggestions';
export { SmoothedValue } from './smooth';
export { saveCheckpoint, loadCheckpoint, readCheckpointInfo, CHECKPOINT_FORMAT, type CheckpointInfo } from './checkpoint';
export { exportModel, loadExported, EXPORT_FORMAT, type ExportedPredictor, type ModelFactory } from './export';
export { loadImageTensorData, type Preprocessing } from './preprocess';
export { LearnerError } from './errors';
export type * from './types';
export { tta, lerp, meanRows, TTA_DEFAULTS, type TtaOptions, type TtaResult, type TtaLearner } from './tta';
