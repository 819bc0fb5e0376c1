// fastai v2's Learner: a small training loop (forward, loss, backward, step) over a DataBunch and
// a ClassifierModel, each stage a few lines wrapped in its before/after events; schedules,
// recording, timing, metrics, progress, loss scaling and lr_find are callbacks.
import { mixedPrecisionRefusal, tf, torchCrossEntropyPerItem } from '../backend';
import * as path from 'path';
import { randomUUID } from 'crypto';
import type { Batch, DataBunch, DataLoader } from '../data/types';
import type { ClassifierModel, ModelParam } from '../models/types';
import type { BackendInfo, ComputePrecision, EventSink, TrainerEvent } from '../../protocol/events';
import {
  CancelBatchException,
  CancelEpochException,
  CancelFitException,
  CancelStepException,
  CancelTrainException,
  CancelValidException,
  type Callback,
  type CallbackHook,
  type RunContext,
  type RunKind,
  type ValidBatchOutput,
} from './callback';
import { AccuracyMetric, CSVLogger, ConstantLr, EarlyStoppingCallback, FineTuneSchedule, ReduceLROnPlateau, SaveModelCallback, type Monitor, LrFinder, MixedPrecision, type AmpMode, MixUp, OneCycleScheduler, ProgressEvents, Recorder, RequireBatches, TerminateOnNaN, Timer } from './callbacks';
import { AdamW } from './optimizer';
import { DEFAULT_LR } from '../../protocol/lr';
import { lrRange } from './lr';
import { describeView, loadImageTensorData, preprocessingOf, viewOfTransforms, type Preprocessing } from './preprocess';
import { saveCheckpoint, loadCheckpoint, assertFiniteWeights, assertCheckpointName } from './checkpoint';
import { exportModel } from './export';
import { LearnerError } from './errors';
import type { EpochRecord, FineTuneOptions, LearnerOptions, LrFindOptions, LrFindResult, LrSpec, OneCycleOptions, Predictions, PredictResult } from './types';

export interface RunOptions {
  /** Extra callbacks for this run only. */
  callbacks?: Callback[];
  wd?: number;
}

export interface ValidationResult {
  validLoss: number;
  accuracy: number;
  errorRate: number;
}

export interface Fp16Status {
  enabled: boolean;
  message: string;
}

/** Mean softmax cross-entropy per item (the loss fastai's CrossEntropyFlat gives, unreduced). */
export function crossEntropyPerItem(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return torchCrossEntropyPerItem(logits, targets) ?? tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(targets, logits.shape[1]), tf.logSoftmax(logits)), 1)) as tf.Tensor1D);
}

/**
 * fastai LabelSmoothingCrossEntropy(eps) per item: eps/c · (−Σ log p) + (1 − eps) · (−log p_target).
 */
export function labelSmoothingCrossEntropy(eps: number): (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Tensor1D {
  return (logits, targets) =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(logits);
      const c = logits.shape[1];
      const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(targets, c), logp), 1));
      return tf.add(tf.mul(tf.neg(tf.sum(logp, 1)), eps / c), tf.mul(nll, 1 - eps)) as tf.Tensor1D;
    });
}

/** The learner-wide callbacks people add (CLI flags, extension settings): fastai v2's cbs=[...]. */
export interface TrainingCallbackOptions {
  saveBest?: Monitor;
  earlyStop?: number;
  reduceLrOnPlateau?: number;
  labelSmoothing?: number;
  /** MixUp(alpha) on the training batches (fastai's 0.4). */
  mixup?: number;
  /** Seeds MixUp's draws (the dataset's seed). */
  seed?: number;
  /** CSVLogger writing path/history.csv (default true). */
  csvLog?: boolean;
}

export class Learner {
  readonly data: DataBunch;
  readonly model: ClassifierModel;
  readonly path: string;
  readonly opt: AdamW;
  readonly recorder = new Recorder();
  /** Callbacks that join every run (fastai callback_fns). */
  readonly callbacks: Callback[] = [];
  wd: number;
  /** Weight decay on BN/bias params, when the user chose; unset: per verb (see run). */
  private readonly bnWd: boolean | undefined;
  /** First trainable layer group (0 = everything trains). */
  frozenTo = 0;
  /** Per-item loss of logits against targets (fastai loss_func; MixUp and label smoothing swap it). */
  lossFunc: (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Tensor1D = crossEntropyPerItem;
  private readonly emitEvent: EventSink;
  private running: RunKind | null = null;
  private stopRequested = false;
  private epochsSeen = 0;
  private disposed = false;
  private disposeWhenIdle = false;
  /** The run in progress: its context and its callbacks in order. */
  private ctx!: RunContext;
  private cbs: Callback[] = [];
  private afterFitFired = false;

  constructor(opts: LearnerOptions) {
    this.data = opts.data;
    this.model = opts.model;
    this.path = opts.path;
    this.wd = opts.wd ?? 1e-2;
    this.emitEvent = opts.onEvent ?? (() => undefined);
    this.bnWd = opts.bnWd;
    this.opt = new AdamW(this.model.params, { nGroups: this.model.layerGroupCount, wd: this.wd, bnWd: opts.bnWd ?? true });
    if (this.model.config.numClasses !== this.data.c) {
      throw new LearnerError(`The model has ${this.model.config.numClasses} outputs but the data has ${this.data.c} classes`, {
        fix: 'Create the model with numClasses = data.c',
      });
    }
  }

  get layerGroupCount(): number {
    return this.model.layerGroupCount;
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  // --- freezing -------------------------------------------------------------------------------

  /** Train only layer groups n.. (negative n counts from the end); BatchNorm everywhere still trains. */
  freezeTo(n: number): void {
    this.assertIdle('freezeTo');
    const g = this.layerGroupCount;
    const first = n < 0 ? g + n : n;
    if (!Number.isInteger(n) || first < 0 || first >= g) {
      throw new LearnerError(`freezeTo(${n}) is out of range for ${g} layer groups`, { fix: `Use a group index from ${-g} to ${g - 1}` });
    }
    this.setTrainableFrom(first);
  }

  /**
   * Train layer groups `first`.. from the next batch on, with a fresh optimiser state (fastai
   * v1 builds a new optimiser, v2's freeze_to clears its state). Callbacks call this between
   * epochs (fine_tune); outside a run use freezeTo.
   */
  setTrainableFrom(first: number): void {
    this.frozenTo = first;
    this.opt.reset();
  }

  freeze(): void {
    this.freezeTo(-1);
  }

  unfreeze(): void {
    this.freezeTo(0);
  }

  /** Params that receive gradients: unfrozen groups, plus BatchNorm params everywhere (train_bn). */
  trainableParams(): ModelParam[] {
    return this.model.params.filter((p) => p.group >= this.frozenTo || p.isBn);
  }

  // --- runs -----------------------------------------------------------------------------------

  /** Ends the running fit or lr_find at the next batch boundary; the learner stays usable. */
  stop(): void {
    if (this.running) this.stopRequested = true;
  }

  async fit(epochs: number, lr: LrSpec = DEFAULT_LR, opts: RunOptions = {}): Promise<EpochRecord[]> {
    const lrs = lrRange(lr, this.layerGroupCount);
    return this.run('fit', epochs, lrs, [new ConstantLr(lrs), ...(opts.callbacks ?? [])], opts.wd);
  }

  async fitOneCycle(epochs: number, maxLr: LrSpec = DEFAULT_LR, opts: OneCycleOptions & RunOptions = {}): Promise<EpochRecord[]> {
    const maxLrs = lrRange(maxLr, this.layerGroupCount);
    const divFactor = opts.divFactor ?? 25;
    const sched = new OneCycleScheduler({
      maxLrs,
      moms: opts.moms ?? [0.95, 0.85],
      divFactor,
      pctStart: opts.pctStart ?? 0.3,
      finalDiv: opts.finalDiv ?? divFactor * 1e4,
    });
    return this.run('fit_one_cycle', epochs, maxLrs, [sched, ...(opts.callbacks ?? [])], opts.wd);
  }

  /**
   * fastai v2 fine_tune(epochs, base_lr=2e-3, freeze_epochs=1, lr_mult=100, pct_start=0.3, div=5):
   * both phases in one run (one fit_begin/fit_end, one epoch table, each row with its phase).
   */
  async fineTune(epochs: number, opts: FineTuneOptions & RunOptions = {}): Promise<EpochRecord[]> {
    const baseLr = opts.baseLr ?? 2e-3;
    const freezeEpochs = opts.freezeEpochs ?? 1;
    const lrMult = opts.lrMult ?? 100;
    if (!Number.isInteger(freezeEpochs) || freezeEpochs < 0) throw new LearnerError(`fine_tune: freezeEpochs must be a whole number ≥ 0, got ${freezeEpochs}`);
    if (!Number.isInteger(epochs) || epochs < 1) throw new LearnerError(`epochs must be a whole number ≥ 1, got ${epochs}`);
    const g = this.layerGroupCount;
    const moms: [number, number, number] = [0.95, 0.85, 0.95];
    const unfrozenLrs = lrRange({ start: baseLr / 2 / lrMult, stop: baseLr / 2 }, g);
    const sched = new FineTuneSchedule({
      freezeEpochs,
      frozen: { maxLrs: lrRange({ stop: baseLr }, g), div: 25, divFinal: 1e5, pctStart: 0.99, moms },
      unfrozen: { maxLrs: unfrozenLrs, div: opts.div ?? 5, divFinal: 1e5, pctStart: opts.pctStart ?? 0.3, moms },
    });
    return this.run('fine_tune', freezeEpochs + epochs, unfrozenLrs, [sched, ...(opts.callbacks ?? [])], opts.wd);
  }

  /** fastai lr_find: the LrFinder callback sweeps the lr and restores the learner afterwards. */
  async lrFind(opts: LrFindOptions & RunOptions = {}): Promise<LrFindResult> {
    this.assertIdle('lrFind');
    const numIt = opts.numIt ?? 100;
    if (!Number.isInteger(numIt) || numIt < 2) throw new LearnerError(`lr_find: numIt must be a whole number ≥ 2, got ${numIt}`, { fix: 'Pass numIt such as 100' });
    const g = this.layerGroupCount;
    const endLrs = lrRange(opts.endLr ?? 10, g);
    const finder = new LrFinder(lrRange(opts.startLr ?? 1e-7, g), endLrs, numIt, opts.stopDiv ?? true);
    const epochs = Math.max(1, Math.ceil(numIt / Math.max(1, this.data.train.length)));
    // the sweep cycles over epochs but ends after numIt batches, part-way through the last one
    await this.run('lr_find', epochs, endLrs, [finder, ...(opts.callbacks ?? [])], opts.wd, numIt);
    return finder.result ?? { lrs: [], losses: [], suggestions: { minGrad: null, valley: null } };
  }

  private assertIdle(what: string): void {
    if (this.disposed) throw new LearnerError(`${what}: this learner has been disposed`, { fix: 'Create a new learner' });
    if (this.running) throw new LearnerError(`${what}: the learner is busy with ${this.running}`, { fix: 'Wait for it to end or call stop()' });
  }

  // --- the loop (fastai v2 Learner: fit → epoch → train/validate → all batches → one batch) ---

  private async run(kind: RunKind, epochs: number, maxLrs: number[], runCallbacks: Callback[], wd: number | undefined, totalSteps?: number): Promise<EpochRecord[]> {
    this.assertIdle(kind);
    if (!Number.isInteger(epochs) || epochs < 1) throw new LearnerError(`epochs must be a whole number ≥ 1, got ${epochs}`);
    const batchesPerEpoch = this.data.train.length;
    if (batchesPerEpoch < 1) {
      throw new LearnerError(`The training set has ${this.data.train.itemCount} images, fewer than one batch of ${this.data.bs}`, {
        fix: 'Lower the batch size (bs) or add images',
      });
    }
    this.running = kind;
    this.stopRequested = false;
    this.opt.wd = wd ?? this.wd;
    // fine_tune is fastai v2's verb and runs with v2's wd_bn_bias=False; the v1 verbs keep bn_wd=True
    this.opt.bnWd = this.bnWd ?? kind !== 'fine_tune';
    this.ctx = newRunContext(this, kind, epochs, batchesPerEpoch, maxLrs, totalSteps ?? batchesPerEpoch * epochs);
    this.cbs = [new Timer(), new TerminateOnNaN(), new RequireBatches(), new AccuracyMetric(), this.recorder, new ProgressEvents((e) => this.emit(e)), ...this.callbacks, ...runCallbacks].sort(
      (a, b) => (a.order ?? 0) - (b.order ?? 0),
    );
    const ctx = this.ctx;
    try {
      await this.withEvents('Fit', () => this.doFit(), CancelFitException);
    } catch (err) {
      ctx.status = 'failed';
      ctx.error = asError(err);
      if (!this.afterFitFired) await this.fire('afterFit');
    }
    this.running = null;
    this.stopRequested = false;
    this.afterFitFired = false;
    this.cbs = [];
    if (this.disposeWhenIdle) this.dispose();
    if (ctx.error) throw ctx.error;
    return [...this.recorder.epochs];
  }

  private async doFit(): Promise<void> {
    for (let epoch = 0; epoch < this.ctx.nEpochs; epoch++) {
      this.ctx.epoch = epoch;
      await this.withEvents('Epoch', () => this.doEpoch(), CancelEpochException);
    }
  }

  private async doEpoch(): Promise<void> {
    this.ctx.training = true;
    this.data.train.setEpoch(this.epochsSeen++);
    await this.withEvents('Train', () => this.allBatches(this.data.train), CancelTrainException);
    this.ctx.training = false;
    await this.withEvents('Validate', () => this.allBatches(this.data.valid), CancelValidException);
  }

  private async allBatches(loader: DataLoader): Promise<void> {
    let i = 0;
    for await (const batch of loader) {
      this.checkStop();
      await this.oneBatch(i++, batch);
    }
    this.checkStop();
  }

  private async oneBatch(i: number, batch: Batch): Promise<void> {
    const ctx = this.ctx;
    ctx.iter = i;
    ctx.batch = batch;
    try {
      // the batch as beforeBatch left it (MixUp replaces it, as v2 callbacks set learn.xb)
      await this.withEvents('Batch', () => (ctx.training ? this.trainBatch(ctx.batch ?? batch) : this.validBatch(ctx.batch ?? batch)), CancelBatchException);
    } finally {
      ctx.batch = undefined;
      ctx.out = undefined;
    }
    if (ctx.training) ctx.step += 1;
  }

  /** Forward, loss and backward (one tfjs gradient tape), then the optimiser step. */
  private async trainBatch(batch: Batch): Promise<void> {
    const ctx = this.ctx;
    const vars = this.trainableParams().map((p) => p.variable);
    const scale = ctx.lossScale;
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.n, batch.size, batch.size, 3]);
      const y = tf.tensor1d(batch.y, 'int32');
      return tf.variableGrads(() => {
        const loss = tf.mean(this.lossFunc(this.model.forward(x, true), y)) as tf.Scalar;
        return scale === 1 ? loss : tf.mul(loss, scale);
      }, vars);
    });
    ctx.grads = grads;
    try {
      ctx.loss = (await value.data())[0] / scale;
      await this.fire('afterPred');
      await this.fire('afterLoss');
      await this.fire('beforeBackward');
      await this.fire('afterBackward');
      await this.withEvents('Step', async () => this.opt.step(ctx.grads!), CancelStepException);
      this.model.commitBatchStats();
    } finally {
      value.dispose();
      for (const g of Object.values(ctx.grads ?? grads)) g?.dispose();
      ctx.grads = undefined;
    }
  }

  private async validBatch(batch: Batch): Promise<void> {
    const out = await this.evalBatch(batch);
    const ctx = this.ctx;
    ctx.out = out;
    let sum = 0;
    for (let i = 0; i < out.n; i++) sum += out.losses[i];
    ctx.loss = out.n > 0 ? sum / out.n : NaN;
    await this.fire('afterPred');
    await this.fire('afterLoss');
  }

  /** fastai _with_events: before<Stage>, the body, afterCancel<Stage> if it raised its cancel exception, after<Stage>. */
  private async withEvents(stage: Stage, body: () => Promise<void>, cancel: new () => Error): Promise<void> {
    try {
      await this.fire(`before${stage}`);
      await body();
    } catch (err) {
      if (!(err instanceof cancel)) throw err;
      await this.fire(`afterCancel${stage}`);
    }
    await this.fire(`after${stage}`);
  }

  private async fire(hook: CallbackHook): Promise<void> {
    if (hook !== 'afterFit') {
      for (const cb of this.cbs) await cb[hook]?.(this.ctx);
      return;
    }
    // Every callback sees the end of the run, whatever an earlier one did.
    this.afterFitFired = true;
    for (const cb of this.cbs) {
      try {
        await cb.afterFit?.(this.ctx);
      } catch (err) {
        this.ctx.error ??= asError(err);
      }
    }
  }

  /** stop() takes effect at a batch boundary, as a CancelFit that marks the run 'stopped'. */
  private checkStop(): void {
    if (!this.stopRequested) return;
    this.ctx.status = 'stopped';
    throw new CancelFitException();
  }

  private async evalBatch(batch: Batch): Promise<ValidBatchOutput> {
    const [logits, losses] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.n, batch.size, batch.size, 3]);
      const out = this.model.forward(x, false);
      return [out, this.lossFunc(out, tf.tensor1d(batch.y, 'int32'))];
    });
    try {
      const l = (await logits.data()) as Float32Array;
      const ls = (await losses.data()) as Float32Array;
      return { logits: new Float32Array(l), targets: batch.y, losses: new Float32Array(ls), n: batch.n, c: logits.shape[1], files: batch.files };
    } finally {
      logits.dispose();
      losses.dispose();
    }
  }

  private async *evalBatches(loader: DataLoader): AsyncGenerator<ValidBatchOutput> {
    for await (const batch of loader) yield await this.evalBatch(batch);
  }

  /** One validation pass outside training: loss, accuracy and error rate. */
  async validate(): Promise<ValidationResult> {
    this.assertIdle('validate');
    let sum = 0;
    let correct = 0;
    let count = 0;
    for await (const out of this.evalBatches(this.data.valid)) {
      for (let i = 0; i < out.n; i++) {
        sum += out.losses[i];
        if (argmax(out.logits, i * out.c, out.c) === out.targets[i]) correct += 1;
      }
      count += out.n;
    }
    if (count === 0) throw new LearnerError('The validation set is empty', { fix: 'Use a validation split (validPct > 0) or a valid/ folder' });
    return { validLoss: sum / count, accuracy: correct / count, errorRate: 1 - correct / count };
  }

  /** Softmax predictions, targets and per-item losses over a split or a loader (fastai get_preds(dl=)). */
  async getPreds(split: 'valid' | 'train' | DataLoader = 'valid'): Promise<Predictions> {
    this.assertIdle('getPreds');
    const preds: Predictions = { files: [], targets: [], probs: [], losses: [] };
    const loader = split === 'valid' ? this.data.valid : split === 'train' ? this.data.train : split;
    for await (const out of this.evalBatches(loader)) {
      for (let i = 0; i < out.n; i++) {
        preds.files.push(out.files[i]);
        preds.targets.push(out.targets[i]);
        preds.losses.push(out.losses[i]);
        preds.probs.push(softmax(out.logits.subarray(i * out.c, (i + 1) * out.c)));
      }
    }
    return preds;
  }

  // --- inference ------------------------------------------------------------------------------

  get preprocessing(): Preprocessing {
    return preprocessingOf(this.data);
  }

  /** fastai learn.predict: class, index and probabilities for one image file or encoded buffer. */
  async predict(image: string | Buffer): Promise<PredictResult> {
    const pre = this.preprocessing;
    const x = await loadImageTensorData(image, pre);
    const probs = tf.tidy(() => tf.softmax(this.model.forward(tf.tensor4d(x, [1, pre.size, pre.size, 3]), false)));
    const p = Array.from(await probs.data());
    probs.dispose();
    const index = argmax(p, 0, p.length);
    return { className: this.data.classes[index], index, probs: p };
  }

  // --- persistence ----------------------------------------------------------------------------

  /** Checkpoint file of `name` under this run's models/ folder. */
  checkpointFile(name: string): string {
    assertCheckpointName(name);
    return path.join(this.path, 'models', `${name}.safetensors`);
  }

  /** Weights, optimiser state, classes, data and model config → models/<name>.safetensors (atomic). */
  async save(name: string): Promise<string> {
    this.assertIdle('save');
    const file = this.checkpointFile(name);
    await saveCheckpoint(file, this);
    return file;
  }

  /** Load a checkpoint saved by save(); the image size may differ (resnets are size-agnostic). */
  async load(name: string, opts: { withOpt?: boolean } = {}): Promise<void> {
    this.assertIdle('load');
    const info = await loadCheckpoint(this.checkpointFile(name), this, opts);
    if (info.size !== this.data.size) this.log('info', `Loaded '${name}' (trained at ${info.size} px) into a learner at ${this.data.size} px`);
    const trained = info.transforms && viewOfTransforms(info.transforms, info.size);
    const now = this.preprocessing;
    if (trained && (trained.method !== now.method || (now.method === 'pad' && trained.padMode !== now.padMode))) {
      this.log('warn', `'${name}' was validated with the ${describeView(trained)} view but this data uses ${describeView(now)}: validation and predictions differ from its training run (open the data with the same resize options)`);
    }
  }

  /** Self-contained inference model (tfjs model.json + weights.bin + preprocessing). */
  async export(dir: string = path.join(this.path, 'export')): Promise<string> {
    this.assertIdle('export');
    assertFiniteWeights(this.model, dir);
    return exportModel(dir, this);
  }

  // --- mixed precision ------------------------------------------------------------------------

  /**
   * fastai to_fp16: for each fit, convolutions and matmuls in fp16 with dynamic loss scaling,
   * fp32 master weights, loss and reductions. Only the torch backend on a CUDA GPU has fp16
   * kernels; elsewhere this says why once and training stays fp32.
   */
  toFp16(backend?: BackendInfo | null): Fp16Status {
    return this.toMixedPrecision('fp16', backend);
  }

  /**
   * fastai to_bf16 (MixedPrecision(amp_mode='bf16')): as toFp16 but in bf16, which has fp32's
   * exponent range, so without loss scaling. The torch backend runs it on CPUs with AVX512_BF16
   * and on GPUs of compute capability 8.0+; elsewhere this says why once and training stays fp32.
   */
  toBf16(backend?: BackendInfo | null): Fp16Status {
    return this.toMixedPrecision('bf16', backend);
  }

  /** fastai to_fp32: later fits compute in fp32 again. */
  toFp32(): void {
    this.removeCallback(MixedPrecision);
  }

  /** What this learner's fits compute convolutions and matmuls in. */
  get precision(): ComputePrecision {
    return this.getCallback(MixedPrecision)?.ampMode ?? 'fp32';
  }

  private toMixedPrecision(mode: AmpMode, backend?: BackendInfo | null): Fp16Status {
    const info = backend ?? activeBackendInfo();
    this.removeCallback(MixedPrecision);
    const refusal = info ? mixedPrecisionRefusal(info, mode) : `${mode} not supported on ${tf.getBackend()}; training stays fp32`;
    if (refusal) {
      this.log('warn', refusal);
      return { enabled: false, message: refusal };
    }
    const mp = new MixedPrecision({ ampMode: mode });
    this.callbacks.push(mp);
    const scaling = mp.scaler ? `dynamic loss scaling (initial scale ${mp.scaler.scale})` : 'no loss scaling';
    const message = `Mixed precision ${mode} on ${info!.name}: convolutions and matmuls in ${mode}, ${scaling}, fp32 master weights, loss and reductions`;
    this.log('info', message);
    return { enabled: true, message };
  }

  /** Adds CSVLogger (unless csvLog is false), SaveModel, EarlyStopping, ReduceLROnPlateau, label smoothing and MixUp as asked. */
  addTrainingCallbacks(o: TrainingCallbackOptions): void {
    if (o.csvLog !== false) this.callbacks.push(new CSVLogger());
    if (o.saveBest) this.callbacks.push(new SaveModelCallback({ monitor: o.saveBest }));
    if (o.earlyStop !== undefined) this.callbacks.push(new EarlyStoppingCallback({ patience: o.earlyStop }));
    if (o.reduceLrOnPlateau !== undefined) this.callbacks.push(new ReduceLROnPlateau({ patience: o.reduceLrOnPlateau }));
    if (o.labelSmoothing) this.lossFunc = labelSmoothingCrossEntropy(o.labelSmoothing);
    if (o.mixup) this.callbacks.push(new MixUp({ alpha: o.mixup, ...(o.seed !== undefined ? { seed: o.seed } : {}) }));
  }

  /** The learner-wide callback of a class (fastai learn.<name>), if one was added. */
  getCallback<T extends Callback>(kind: new (...args: never[]) => T): T | undefined {
    return this.callbacks.find((c): c is T => c instanceof kind);
  }

  removeCallback(kind: new (...args: never[]) => Callback): void {
    this.assertIdle('removeCallback');
    for (let i = this.callbacks.length - 1; i >= 0; i--) if (this.callbacks[i] instanceof kind) this.callbacks.splice(i, 1);
  }

  // --- misc -----------------------------------------------------------------------------------

  private emit(e: TrainerEvent): void {
    try {
      this.emitEvent(e);
    } catch {
      // A failing listener must not break training.
    }
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.emit({ type: 'log', level, message });
  }

  /** Releases the optimiser state and the model's tensors (after the current run, if one is going). */
  dispose(): void {
    if (this.disposed) return;
    if (this.running) {
      this.stop();
      this.disposeWhenIdle = true;
      return;
    }
    this.disposed = true;
    this.opt.dispose();
    this.model.dispose();
  }
}

type Stage = 'Fit' | 'Epoch' | 'Train' | 'Validate' | 'Batch' | 'Step';

function newRunContext(learner: Learner, kind: RunKind, nEpochs: number, batchesPerEpoch: number, maxLrs: number[], totalSteps: number): RunContext {
  return {
    learner,
    runId: randomUUID(),
    kind,
    nEpochs,
    batchesPerEpoch,
    totalSteps,
    maxLrs,
    status: 'completed',
    training: false,
    epoch: 0,
    iter: 0,
    step: 0,
    lossScale: 1,
    loss: NaN,
    smoothLoss: NaN,
    validLoss: null,
    metrics: {},
    epochSeconds: 0,
    trainImagesPerSecond: 0,
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function argmax(a: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[offset + j] > a[offset + best]) best = j;
  return best;
}

function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

function activeBackendInfo(): BackendInfo | null {
  try {
    const backend = require('../backend') as { activeBackend?: () => BackendInfo | null };
    return backend.activeBackend?.() ?? null;
  } catch {
    return null;
  }
}
