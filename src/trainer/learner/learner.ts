// fastai's Learner: a small training loop (forward, loss, backward, step) over a DataBunch and a
// ClassifierModel; schedules, recording, metrics, progress and lr_find are callbacks.
import { tf } from '../backend';
import * as path from 'path';
import { randomUUID } from 'crypto';
import type { Batch, DataBunch, DataLoader } from '../data/types';
import type { ClassifierModel, ModelParam } from '../models/types';
import type { BackendInfo, EventSink, TrainerEvent } from '../../protocol/events';
import type { Callback, CallbackHook, RunContext, RunKind, RunStatus, ValidBatchOutput } from './callback';
import { AccuracyMetric, ConstantLr, LrFinder, OneCycleScheduler, ProgressEvents, Recorder } from './callbacks';
import { AdamW } from './optimizer';
import { DynamicLossScaler } from './loss-scaler';
import { lrRange } from './lr';
import { SmoothedValue } from './smooth';
import { disposeState, snapshotState } from './state';
import { loadImageTensorData, type Preprocessing } from './preprocess';
import { saveCheckpoint, loadCheckpoint } from './checkpoint';
import { exportModel } from './export';
import { LearnerError } from './errors';
import type { EpochRecord, LearnerOptions, LrFindOptions, LrFindResult, LrSpec, OneCycleOptions, Predictions, PredictResult } from './types';

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
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(targets, logits.shape[1]), tf.logSoftmax(logits)), 1)) as tf.Tensor1D);
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
  /** First trainable layer group (0 = everything trains). */
  frozenTo = 0;
  /** The lr finder of the lr_find run in progress, for the progress callback. */
  activeLrFinder: LrFinder | null = null;
  /** Set by toFp16() where the backend can train in half precision. */
  lossScaler: DynamicLossScaler | null = null;
  private readonly emitEvent: EventSink;
  private running: RunKind | null = null;
  private stopRequested = false;
  private epochsSeen = 0;
  private disposed = false;
  private disposeWhenIdle = false;

  constructor(opts: LearnerOptions) {
    this.data = opts.data;
    this.model = opts.model;
    this.path = opts.path;
    this.wd = opts.wd ?? 1e-2;
    this.emitEvent = opts.onEvent ?? (() => undefined);
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
    this.frozenTo = first;
    // fastai v1 builds a fresh optimiser whenever the frozen layers change.
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

  /** Ends the running fit or lr_find after the current batch; the learner stays usable. */
  stop(): void {
    if (this.running) this.stopRequested = true;
  }

  async fit(epochs: number, lr: LrSpec = 3e-3, opts: RunOptions = {}): Promise<EpochRecord[]> {
    const lrs = lrRange(lr, this.layerGroupCount);
    return this.run('fit', epochs, lrs, [new ConstantLr(lrs), ...(opts.callbacks ?? [])], opts.wd);
  }

  async fitOneCycle(epochs: number, maxLr: LrSpec = 3e-3, opts: OneCycleOptions & RunOptions = {}): Promise<EpochRecord[]> {
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
   * fastai lr_find: exponential lr sweep over up to numIt batches, then weights, BatchNorm stats
   * and optimiser state are put back exactly as they were.
   */
  async lrFind(opts: LrFindOptions & RunOptions = {}): Promise<LrFindResult> {
    this.assertIdle('lrFind');
    const numIt = opts.numIt ?? 100;
    if (!Number.isInteger(numIt) || numIt < 2) throw new LearnerError(`lr_find: numIt must be a whole number ≥ 2, got ${numIt}`, { fix: 'Pass numIt such as 100' });
    const g = this.layerGroupCount;
    const startLrs = lrRange(opts.startLr ?? 1e-7, g);
    const endLrs = lrRange(opts.endLr ?? 10, g);
    const finder = new LrFinder(startLrs, endLrs, numIt, opts.stopDiv ?? true);
    const epochs = Math.max(1, Math.ceil(numIt / Math.max(1, this.data.train.length)));
    const weights = snapshotState(this.model);
    const optState = this.opt.getState();
    this.activeLrFinder = finder;
    try {
      await this.run('lr_find', epochs, endLrs, [finder, ...(opts.callbacks ?? [])], opts.wd, {
        // the sweep cycles over epochs but ends after numIt batches, part-way through the last one
        totalSteps: numIt,
        beforeEnd: () => {
          // Restore before fit_end goes out, so a client that sees the end sees the old weights.
          this.model.loadStateDict(weights);
          this.opt.setState(optState);
        },
      });
    } finally {
      this.activeLrFinder = null;
      disposeState(weights);
      disposeState(optState.expAvg);
      disposeState(optState.expAvgSq);
    }
    return finder.result ?? { lrs: [], losses: [], suggestions: { minGrad: null, valley: null } };
  }

  private assertIdle(what: string): void {
    if (this.disposed) throw new LearnerError(`${what}: this learner has been disposed`, { fix: 'Create a new learner' });
    if (this.running) throw new LearnerError(`${what}: the learner is busy with ${this.running}`, { fix: 'Wait for it to end or call stop()' });
  }

  private async run(
    kind: RunKind,
    epochs: number,
    maxLrs: number[],
    runCallbacks: Callback[],
    wd: number | undefined,
    { beforeEnd, totalSteps }: { beforeEnd?: () => void; totalSteps?: number } = {},
  ): Promise<EpochRecord[]> {
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
    const ctx: RunContext = {
      learner: this,
      runId: randomUUID(),
      kind,
      nEpochs: epochs,
      batchesPerEpoch,
      totalSteps: totalSteps ?? batchesPerEpoch * epochs,
      maxLrs,
      epoch: 0,
      iter: 0,
      step: 0,
      loss: NaN,
      smoothLoss: NaN,
      skipStep: false,
      skipValidate: false,
      stopTraining: false,
      validLoss: null,
      metrics: {},
      epochTrainSeconds: 0,
      epochTrainImages: 0,
      epochStartedAt: 0,
    };
    const cbs: Callback[] = [new AccuracyMetric(), this.recorder, new ProgressEvents((e) => this.emit(e)), ...this.callbacks, ...runCallbacks].sort(
      (a, b) => (a.order ?? 0) - (b.order ?? 0),
    );
    const fire = async (hook: Exclude<CallbackHook, 'afterValidBatch' | 'afterFit'>) => {
      for (const cb of cbs) await cb[hook]?.(ctx);
    };
    let status: RunStatus = 'completed';
    let failure: Error | undefined;
    const smooth = new SmoothedValue(0.98);
    try {
      await fire('beginFit');
      for (let epoch = 0; epoch < epochs; epoch++) {
        ctx.epoch = epoch;
        ctx.iter = 0;
        ctx.epochTrainSeconds = 0;
        ctx.epochTrainImages = 0;
        ctx.validLoss = null;
        ctx.metrics = {};
        ctx.epochStartedAt = performance.now();
        this.data.train.setEpoch(this.epochsSeen++);
        await fire('beginEpoch');
        for await (const batch of this.data.train) {
          if (this.stopRequested) break;
          const t0 = performance.now();
          ctx.batch = batch;
          ctx.skipStep = false;
          await fire('beginBatch');
          await this.trainBatch(ctx, batch, smooth, fire);
          ctx.epochTrainSeconds += (performance.now() - t0) / 1000;
          ctx.epochTrainImages += batch.n;
          await fire('afterBatch');
          ctx.iter += 1;
          ctx.step += 1;
          if (ctx.stopTraining || this.stopRequested) break;
        }
        ctx.batch = undefined;
        if (this.stopRequested) {
          status = 'stopped';
          break;
        }
        if (!ctx.skipValidate) {
          await fire('beginValidate');
          ctx.validLoss = await this.validatePass(ctx, cbs);
          if (this.stopRequested) {
            status = 'stopped';
            break;
          }
          await fire('afterValidate');
        }
        await fire('afterEpoch');
        if (ctx.stopTraining) break;
      }
    } catch (err) {
      status = 'failed';
      failure = err instanceof Error ? err : new Error(String(err));
    }
    try {
      beforeEnd?.();
    } catch (err) {
      status = 'failed';
      failure ??= err instanceof Error ? err : new Error(String(err));
    }
    for (const cb of cbs) {
      try {
        await cb.afterFit?.(ctx, status, failure);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    this.running = null;
    this.stopRequested = false;
    if (this.disposeWhenIdle) this.dispose();
    if (failure) throw failure;
    return [...this.recorder.epochs];
  }

  /** Forward, loss, backward and optimiser step for one batch; no tensor outlives it. */
  private async trainBatch(
    ctx: RunContext,
    batch: Batch,
    smooth: SmoothedValue,
    fire: (hook: 'afterLoss' | 'afterStep') => Promise<void>,
  ): Promise<void> {
    const vars = this.trainableParams().map((p) => p.variable);
    const scale = this.lossScaler?.scale ?? 1;
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.n, batch.size, batch.size, 3]);
      const y = tf.tensor1d(batch.y, 'int32');
      return tf.variableGrads(() => {
        const loss = tf.mean(crossEntropyPerItem(this.model.forward(x, true), y)) as tf.Scalar;
        return scale === 1 ? loss : tf.mul(loss, scale);
      }, vars);
    });
    try {
      ctx.loss = (await value.data())[0] / scale;
      ctx.smoothLoss = smooth.add(ctx.loss);
      await fire('afterLoss');
      let apply = !ctx.skipStep;
      if (apply && this.lossScaler) {
        const finite = tf.tidy(() => tf.all(tf.stack(Object.values(grads).map((g) => tf.all(tf.isFinite(g as tf.Tensor))))));
        const ok = (await finite.data())[0] === 1;
        finite.dispose();
        apply = this.lossScaler.update(ok, ctx.step);
        if (apply && scale !== 1) {
          for (const k of Object.keys(grads)) {
            const g = grads[k];
            grads[k] = tf.div(g, scale);
            g.dispose();
          }
        }
      }
      if (apply) this.opt.step(grads);
      this.model.commitBatchStats();
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g?.dispose();
    }
    await fire('afterStep');
  }

  private async *evalBatches(loader: DataLoader): AsyncGenerator<ValidBatchOutput> {
    for await (const batch of loader) {
      const [logits, losses] = tf.tidy(() => {
        const x = tf.tensor4d(batch.x, [batch.n, batch.size, batch.size, 3]);
        const out = this.model.forward(x, false);
        return [out, crossEntropyPerItem(out, tf.tensor1d(batch.y, 'int32'))];
      });
      try {
        const l = (await logits.data()) as Float32Array;
        const ls = (await losses.data()) as Float32Array;
        yield { logits: new Float32Array(l), targets: batch.y, losses: new Float32Array(ls), n: batch.n, c: logits.shape[1], files: batch.files };
      } finally {
        logits.dispose();
        losses.dispose();
      }
    }
  }

  private async validatePass(ctx: RunContext, cbs: Callback[]): Promise<number | null> {
    let sum = 0;
    let count = 0;
    for await (const out of this.evalBatches(this.data.valid)) {
      for (let i = 0; i < out.n; i++) sum += out.losses[i];
      count += out.n;
      for (const cb of cbs) await cb.afterValidBatch?.(ctx, out);
      if (this.stopRequested) break;
    }
    return count > 0 ? sum / count : null;
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

  /** Softmax predictions, targets and per-item losses over a split (fastai get_preds). */
  async getPreds(split: 'valid' | 'train' = 'valid'): Promise<Predictions> {
    this.assertIdle('getPreds');
    const preds: Predictions = { files: [], targets: [], probs: [], losses: [] };
    for await (const out of this.evalBatches(split === 'valid' ? this.data.valid : this.data.train)) {
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
    return { size: this.data.size, normalize: this.data.normalize, resize: 'short-side', crop: 'center' };
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
    if (!/^[\w.-]+$/.test(name)) throw new LearnerError(`Invalid checkpoint name '${name}'`, { fix: 'Use letters, digits, dot, dash and underscore only' });
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
  }

  /** Self-contained inference model (tfjs model.json + weights.bin + preprocessing). */
  async export(dir: string = path.join(this.path, 'export')): Promise<string> {
    this.assertIdle('export');
    return exportModel(dir, this);
  }

  // --- mixed precision ------------------------------------------------------------------------

  /**
   * fastai to_fp16. tfjs has no half-precision training path on the wasm and cpu backends, so
   * there this only says so and training stays fp32. Where the backend reports fp16 support,
   * it turns on dynamic loss scaling (the master weights are fp32 tf.Variables throughout).
   */
  toFp16(backend?: BackendInfo | null): Fp16Status {
    const info = backend ?? activeBackendInfo();
    const name = info?.name ?? tf.getBackend();
    if (!info?.fp16) {
      const message = `fp16 not supported on ${name}; training stays fp32`;
      this.log('warn', message);
      this.lossScaler = null;
      return { enabled: false, message };
    }
    this.lossScaler = new DynamicLossScaler();
    const message = `Mixed precision on ${name}: dynamic loss scaling (initial scale ${this.lossScaler.scale}), fp32 master weights`;
    this.log('info', message);
    return { enabled: true, message };
  }

  toFp32(): void {
    this.lossScaler = null;
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
