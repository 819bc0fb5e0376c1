// Requests the extension (or any client) sends to the trainer child process, their answers, and
// the envelopes both sides exchange over Node IPC. Params are validated on receipt by the trainer,
// results on receipt by the client.
import { z } from 'zod';
import { Arch } from './arch';
import { CleanerAction } from './cleaner';
import { DatasetBatch, DatasetSummary, TransformSpec } from './dataset';
import { BackendInfo, ComputePrecision, TrainerEvent } from './events';
import { BackendReport } from './backend-report';
import { GradCamResult, InterpretResult, TtaSummary } from './interpretation';
import { LrSpec } from './lr';
import { EpochRecord, LrFindResult } from './runs';
import { ExportParams, ExportResult, PredictParams, Prediction } from './export';

export const LabellingSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('nameRe'), pattern: z.string().min(1) }),
  z.object({ kind: z.literal('folder'), train: z.string().optional(), valid: z.string().optional() }),
  z.object({ kind: z.literal('csv'), csvFile: z.string().min(1), fnCol: z.string().optional(), labelCol: z.string().optional() }),
]);
export type LabellingSpec = z.infer<typeof LabellingSpec>;

export const DataOptions = z.object({
  root: z.string().min(1),
  labelling: LabellingSpec,
  validPct: z.number().min(0).max(0.99).optional(),
  seed: z.number().int().optional(),
  size: z.number().int().min(8).max(1024).optional(),
  bs: z.number().int().min(1).max(4096).optional(),
  numWorkers: z.number().int().min(0).max(64).optional(),
  ...TransformSpec.shape,
});
export type DataOptions = z.infer<typeof DataOptions>;

export const CreateLearnerOptions = z.object({
  arch: Arch.optional(),
  pretrained: z.string().optional(), // 'auto' | 'none' | path to .safetensors
  weightsCacheDir: z.string().optional(),
  fp16: z.boolean().optional(), // learn.to_fp16(): fp16 mixed precision with loss scaling where the backend can, else a warning and fp32
  bf16: z.boolean().optional(), // learn.to_bf16(): bf16 mixed precision (no loss scaling) where the backend can; not with fp16
  // fastai v2 callbacks for every run of this learner (cbs=[...]); a CSVLogger always writes OUT/history.csv
  saveBest: z.enum(['valid_loss', 'train_loss', 'error_rate', 'accuracy']).optional(), // SaveModelCallback(monitor)
  earlyStop: z.number().int().min(1).optional(), // EarlyStoppingCallback(patience)
  reduceLrOnPlateau: z.number().int().min(1).optional(), // ReduceLROnPlateau(patience), for plain fit
  labelSmoothing: z.number().min(0).max(0.99).optional(), // loss_func=LabelSmoothingCrossEntropy(eps)
  mixup: z.number().positive().max(100).optional(), // MixUp(alpha) on training batches
});
export type CreateLearnerOptions = z.infer<typeof CreateLearnerOptions>;

/** method name → params schema. */
export const RequestParams = {
  backendInfo: z.object({ backend: z.string().optional() }),
  backendReport: z.object({}), // the running backend in full (Show Backend Info, doctor)
  previewLabels: z.object({ root: z.string(), labelling: LabellingSpec, limit: z.number().int().min(1).max(200).optional() }),
  openDataset: DataOptions,
  showBatch: z.object({ split: z.enum(['train', 'valid']).optional(), n: z.number().int().min(1).max(64).optional(), seed: z.number().int().optional() }),
  createLearner: CreateLearnerOptions,
  lrFind: z.object({ startLr: z.number().positive().optional(), endLr: z.number().positive().optional(), numIt: z.number().int().min(2).optional(), stopDiv: z.boolean().optional() }),
  fitOneCycle: z.object({ epochs: z.number().int().min(1), maxLr: LrSpec.optional(), moms: z.tuple([z.number(), z.number()]).optional(), divFactor: z.number().positive().optional(), pctStart: z.number().min(0).max(1).optional(), wd: z.number().min(0).optional() }),
  fit: z.object({ epochs: z.number().int().min(1), lr: LrSpec.optional() }),
  // fastai v2 fine_tune(epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100, pct_start=0.3, div=5)
  fineTune: z.object({ epochs: z.number().int().min(1), baseLr: z.number().positive().optional(), freezeEpochs: z.number().int().min(0).optional(), lrMult: z.number().positive().optional(), pctStart: z.number().min(0).max(1).optional(), div: z.number().positive().optional(), wd: z.number().min(0).optional() }),
  freeze: z.object({}),
  unfreeze: z.object({}),
  freezeTo: z.object({ n: z.number().int() }),
  stop: z.object({}),
  save: z.object({ name: z.string().regex(/^[\w.-]+$/) }),
  load: z.object({ name: z.string().regex(/^[\w.-]+$/) }),
  export: ExportParams,
  predict: PredictParams,
  interpret: z.object({ k: z.number().int().min(1).optional() }),
  // fastai v2 learn.tta(n=4, beta=0.25): validation error with test-time augmentation, next to the plain one
  tta: z.object({ n: z.number().int().min(1).max(64).optional(), beta: z.number().min(0).max(1).nullable().optional() }),
  // progressive resizing: the open dataset at another image size (and batch size), the learner kept
  changeSize: z.object({ size: z.number().int().min(8).max(1024), bs: z.number().int().min(1).max(4096).optional(), presize: z.number().int().min(8).max(2048).optional() }),
  gradCam: z.object({ file: z.string(), classIndex: z.number().int().optional() }),
  relabel: z.object({ file: z.string(), newLabel: z.string().min(1) }),
  deleteFile: z.object({ file: z.string() }),
  undo: z.object({}),
  shutdown: z.object({}),
} as const;
export type Method = keyof typeof RequestParams;
export type ParamsOf<M extends Method> = z.infer<(typeof RequestParams)[M]>;

/** The learner as createLearner, freeze, unfreeze, freezeTo and load describe it. */
export const LearnerSummary = z.object({
  arch: Arch,
  classes: z.array(z.string()),
  pretrained: z.string(),
  layerGroups: z.number().int(),
  /** First trainable layer group (0 = unfrozen). */
  frozenTo: z.number().int(),
  /** Run folder (checkpoints in `${path}/models`). */
  path: z.string(),
  /** What its fits compute convolutions and matmuls in (fp32 unless fp16/bf16 was asked and the backend can). */
  precision: ComputePrecision.optional(),
});
export type LearnerSummary = z.infer<typeof LearnerSummary>;

export const LabelPreview = z.object({
  items: z.array(z.object({ file: z.string(), label: z.string() })),
  classes: z.array(z.string()),
  total: z.number().int(),
  skipped: z.number().int(),
  /** Folders left out of the scan (this project's checkpoints, exports, .image-trainer/), with why. */
  skippedFolders: z.array(z.object({ folder: z.string(), reason: z.string() })).optional(),
});
export type LabelPreview = z.infer<typeof LabelPreview>;

export { Prediction } from './export';

/** The open dataset's loaders after changeSize: sizes and the transforms in fastai's words. */
export const DataShape = z.object({ size: z.number().int(), bs: z.number().int(), presize: z.number().int(), transforms: z.string() });
export type DataShape = z.infer<typeof DataShape>;

/** method name → result schema (what the trainer answers with ok:true). */
export const RequestResults = {
  backendInfo: BackendInfo,
  backendReport: BackendReport,
  previewLabels: LabelPreview,
  openDataset: DatasetSummary,
  showBatch: DatasetBatch,
  createLearner: LearnerSummary,
  lrFind: LrFindResult,
  fitOneCycle: z.array(EpochRecord),
  fit: z.array(EpochRecord),
  fineTune: z.array(EpochRecord),
  freeze: LearnerSummary,
  unfreeze: LearnerSummary,
  freezeTo: LearnerSummary,
  stop: z.object({ stopping: z.string().nullable() }),
  save: z.object({ path: z.string() }),
  load: LearnerSummary,
  export: ExportResult,
  predict: z.array(Prediction),
  interpret: InterpretResult,
  tta: TtaSummary,
  changeSize: DataShape,
  gradCam: GradCamResult,
  relabel: CleanerAction,
  deleteFile: CleanerAction,
  undo: CleanerAction,
  shutdown: z.object({ ok: z.literal(true) }),
} as const satisfies Record<Method, z.ZodTypeAny>;
export type ResultOf<M extends Method> = z.infer<(typeof RequestResults)[M]>;

export const RequestEnvelope = z.object({
  kind: z.literal('request'),
  id: z.number().int(),
  method: z.string(),
  params: z.unknown(),
});
export const ErrorInfo = z.object({ message: z.string(), file: z.string().optional(), fix: z.string().optional() });
export const ResponseEnvelope = z.union([
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(false), error: ErrorInfo }),
]);
export const EventEnvelope = z.object({ kind: z.literal('event'), event: TrainerEvent });
export const TrainerToHost = z.union([ResponseEnvelope, EventEnvelope]);
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;
export type TrainerToHost = z.infer<typeof TrainerToHost>;
