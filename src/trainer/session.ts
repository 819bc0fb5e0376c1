// TrainerSession: the one facade over the trainer that both the CLI and the child process drive.
// One async method per protocol method (src/protocol/requests.ts), plain JSON in and out; events
// go to the EventSink. It owns the dataset, the DataBunch and the Learner, and lets only one long
// job (a fit, an lr_find, an interpretation) run at a time.
import * as path from 'path';
import type { BackendInfo, EventSink } from '../protocol/events';
import { DEFAULT_ARCH, type Arch } from '../protocol/arch';
import type { InterpretationSummary } from '../protocol/interpretation';
import { DEFAULT_LR } from '../protocol/lr';
import type { Method, ParamsOf, ResultOf } from '../protocol/requests';
import { DATASET_PRIVATE_DIR, defaultExportDirName, topK, type ExportFormat } from '../protocol/export';
import type { DataBunch, LabelledDataset, SplitDataset } from './data/types';
import type { Learner } from './learner';
import type { AnyPredictor } from './export';
import { parseRequest } from './service/dispatch';
import { TrainerError } from './service/errors';
import { JobLock } from './service/job-lock';
import { releaseFreeMemory } from './backend/allocator';
import { acquireRunLock } from './io/run-lock';
import { swapLoaders } from './service/loader-swap';
import { fitBatchToMemory } from './service/memory-guard';
import { parts } from './service/parts';
import { interpretResult, summarizeDataset } from './service/summaries';

export interface SessionOptions {
  /** Where events go (CLI renderer, IPC, a test's array). */
  onEvent?: EventSink;
  /** Run folder of the learner (checkpoints in `${outDir}/models`); default: the dataset's root, as fastai. */
  outDir?: string;
  /**
   * Who this session is, when it must lock the run folder itself for each job that writes there
   * (the extension's child, whose run folder is the dataset and is shared with other windows and CLI
   * runs). Unset where the caller holds the lock for the whole run (the CLI).
   */
  runLockHolder?: string;
}

/** Jobs that write into the run folder or the dataset: one at a time per folder, across processes. */
const WRITING_JOBS: ReadonlySet<Method> = new Set<Method>(['fit', 'fitOneCycle', 'fineTune', 'save', 'export', 'relabel', 'deleteFile', 'undo']);
const OPEN_DATASET_FIRST = 'Open a dataset first: run "Image Trainer: Open Dataset…" (the CLI opens one from --data)';

export class TrainerSession {
  private readonly emit: EventSink;
  private readonly outDir?: string;
  private backend?: BackendInfo;
  private backendPrefer?: string;
  private dataset?: SplitDataset;
  private data?: DataBunch;
  private learner?: Learner;
  private seed = 42;
  private arch?: Arch;
  private pretrained?: string;
  private readonly lock = new JobLock();
  private readonly runLockHolder?: string;

  constructor(opts: SessionOptions = {}) {
    this.emit = opts.onEvent ?? (() => undefined);
    if (opts.outDir !== undefined) this.outDir = opts.outDir;
    if (opts.runLockHolder !== undefined) this.runLockHolder = opts.runLockHolder;
  }

  /** Validate untrusted params against the protocol schema, then call the method. */
  async dispatch(method: string, params: unknown): Promise<unknown> {
    const req = parseRequest(method, params);
    const fn = (this as unknown as Record<Method, (p: unknown) => Promise<unknown>>)[req.method];
    return fn.call(this, req.params);
  }

  /** The running long job's method, if any. */
  get busyWith(): Method | undefined {
    return this.lock.busyWith;
  }

  private exclusive<T>(method: Method, run: () => Promise<T>): Promise<T> {
    // released inside the lock: a refused request must not purge under a running fit
    return this.locked(method, () => run().finally(releaseFreeMemory));
  }

  private locked<T>(method: Method, run: () => Promise<T>): Promise<T> {
    const holder = this.runLockHolder;
    if (holder === undefined || !WRITING_JOBS.has(method) || !this.dataset) return this.lock.run(method, run);
    return this.lock.run(method, async () => {
      const runLock = acquireRunLock(this.runDir(), { command: holder, otherwise: 'stop it (Image Trainer: Stop in that window, or Ctrl-C in its terminal)' });
      try {
        return await run();
      } finally {
        runLock.release();
      }
    });
  }


  private requireData(): DataBunch {
    if (!this.data || !this.dataset) throw new TrainerError('No dataset is open', { fix: OPEN_DATASET_FIRST });
    return this.data;
  }

  private requireLearner(): Learner {
    if (!this.learner) throw new TrainerError('No learner has been created', { fix: 'Create a learner first: run "Image Trainer: Create Learner" (the CLI makes one from --arch)' });
    return this.learner;
  }

  private runDir(): string {
    return this.outDir ?? this.dataset?.root ?? process.cwd();
  }

  /** In the run folder; inside a dataset, under its hidden .image-trainer/ so no class folder is ever the target. */
  private defaultExportDir(format: ExportFormat): string {
    const name = defaultExportDirName(format);
    return this.outDir !== undefined || !this.dataset ? path.join(this.runDir(), name) : path.join(this.dataset.root, DATASET_PRIVATE_DIR, name);
  }

  // --- backend and data -------------------------------------------------------------------

  async backendInfo(p: ParamsOf<'backendInfo'>): Promise<ResultOf<'backendInfo'>> {
    if (!this.backend || (p.backend !== undefined && p.backend !== this.backendPrefer)) {
      if (this.backend && this.busyWith) {
        throw new TrainerError(`Cannot switch backend while '${this.busyWith}' is running`, { fix: 'Stop the job first' });
      }
      this.backend = (await parts.backend().selectBackend({ prefer: p.backend })) as BackendInfo;
      this.backendPrefer = p.backend;
      this.emit({ type: 'backend', backend: this.backend });
    }
    return this.backend;
  }

  /** The running backend in full: libtorch, devices, precision, and why faster ones are not running. */
  async backendReport(_p: ParamsOf<'backendReport'>): Promise<ResultOf<'backendReport'>> {
    await this.backendInfo({});
    return parts.doctor().backendReport({ prefer: this.backendPrefer });
  }

  async previewLabels(p: ParamsOf<'previewLabels'>): Promise<ResultOf<'previewLabels'>> {
    const ds = await this.label(p.root, p.labelling);
    const limit = p.limit ?? 20;
    return {
      items: ds.items.slice(0, limit).map((file, i) => ({ file, label: ds.labels[i] as string })),
      classes: ds.classes,
      total: ds.items.length,
      skipped: ds.skipped.length,
      ...(ds.skippedFolders?.length ? { skippedFolders: ds.skippedFolders.map((f) => ({ folder: f.file, reason: f.reason })) } : {}),
    };
  }

  private async label(root: string, spec: ParamsOf<'previewLabels'>['labelling']): Promise<LabelledDataset> {
    const data = parts.data();
    const dir = path.resolve(root);
    switch (spec.kind) {
      case 'nameRe':
        return data.fromNameRe(dir, spec.pattern);
      case 'folder':
        return data.fromFolder(dir, { train: spec.train, valid: spec.valid });
      case 'csv':
        return data.fromCsv(dir, path.resolve(dir, spec.csvFile), { fnCol: spec.fnCol, labelCol: spec.labelCol });
    }
  }

  async openDataset(p: ParamsOf<'openDataset'>): Promise<ResultOf<'openDataset'>> {
    return this.exclusive('openDataset', async () => {
      const dataApi = parts.data();
      const labelled = await this.label(p.root, p.labelling);
      const split = dataApi.splitDataset(labelled, { validPct: p.validPct, seed: p.seed });
      const bunch = await dataApi.createDataBunch(split, {
        size: p.size, bs: p.bs, numWorkers: p.numWorkers, seed: p.seed,
        resize: p.resize, padMode: p.padMode, aug: p.aug, minScale: p.minScale, presize: p.presize,
      });
      // A learner is bound to its DataBunch: new data needs a new learner (as cnn_learner(data)).
      this.disposeLearner();
      await this.closeData();
      this.dataset = split;
      this.data = bunch;
      this.seed = p.seed ?? 42;
      const summary = { ...summarizeDataset(split), transforms: dataApi.describePipeline(dataApi.bunchSettings(bunch)!.pipeline, bunch.size) };
      this.emit({ type: 'dataset', ...summary });
      return summary;
    });
  }

  /** fastai show_batch: thumbnails (as data: URLs, so they cross IPC) with their labels. */
  async showBatch(p: ParamsOf<'showBatch'>): Promise<ResultOf<'showBatch'>> {
    const data = this.requireData();
    const split = p.split ?? 'train';
    const shown = await parts.data().showBatch(data, { split, n: p.n ?? 9, ...(p.seed !== undefined ? { seed: p.seed } : {}) });
    return { split, items: shown.map((s) => ({ file: s.file, label: s.label, src: `data:image/png;base64,${s.png.toString('base64')}` })) };
  }

  /**
   * Progressive resizing: the open dataset's loaders at another image size (and batch size), same
   * split and transforms, swapped under the learner (its weights and optimiser are kept).
   */
  async changeSize(p: ParamsOf<'changeSize'>): Promise<ResultOf<'changeSize'>> {
    return this.exclusive('changeSize', async () => {
      const data = this.requireData();
      const api = parts.data();
      await api.rebuildDataBunch(data, { size: p.size, ...(p.bs !== undefined ? { bs: p.bs } : {}), ...(p.presize !== undefined ? { presize: p.presize } : {}) });
      const s = api.bunchSettings(data)!;
      const transforms = api.describePipeline(s.pipeline, data.size);
      this.emit({ type: 'log', level: 'info', message: `data: size ${data.size}, bs ${data.bs}, ${transforms}` });
      return { size: data.size, bs: data.bs, presize: s.pipeline.presize, transforms };
    });
  }

  // --- learner ------------------------------------------------------------------------------

  async createLearner(p: ParamsOf<'createLearner'>): Promise<ResultOf<'createLearner'>> {
    return this.exclusive('createLearner', async () => {
      const data = this.requireData();
      if (p.fp16 && p.bf16) throw new TrainerError('fp16 and bf16 were both asked for: a learner trains in one precision', { fix: 'Choose one: fp16 (CUDA GPUs) or bf16 (CPUs with AVX512_BF16, Ampere+ GPUs)' });
      await this.backendInfo({});
      const arch = p.arch ?? DEFAULT_ARCH;
      const pretrained = p.pretrained ?? 'auto';
      const models = parts.models();
      // The dataset's seed also seeds the head/body init, so one --seed repeats a whole run.
      const model = models.createModel({ arch, numClasses: data.c, seed: this.seed });
      let loaded = false;
      if (pretrained !== 'none') {
        try {
          loaded = Boolean(await models.loadPretrained(model, arch, pretrained, {
            ...(p.weightsCacheDir !== undefined ? { cacheDir: p.weightsCacheDir } : {}),
            onLog: (message: string) => this.emit({ type: 'log', level: 'info', message }),
          }));
        } catch (err) {
          model.dispose();
          throw err;
        }
      }
      const { Learner } = parts.learner();
      this.disposeLearner();
      this.learner = new Learner({ data, model, path: this.runDir(), onEvent: this.emit });
      this.arch = arch;
      this.pretrained = pretrained;
      // fastai's cnn_learner freezes the body only when it starts from pretrained weights.
      if (loaded) this.learner.freeze();
      if (p.fp16) this.learner.toFp16(this.backend);
      if (p.bf16) this.learner.toBf16(this.backend);
      this.learner.addTrainingCallbacks({ ...p, seed: this.seed });
      return this.learnerSummary();
    });
  }

  private learnerSummary(): ResultOf<'createLearner'> {
    const l = this.requireLearner();
    return {
      arch: this.arch as Arch,
      classes: this.dataset?.classes ?? [],
      pretrained: this.pretrained as string,
      layerGroups: l.layerGroupCount,
      frozenTo: l.frozenTo,
      path: this.runDir(),
      precision: l.precision,
    };
  }

  async lrFind(p: ParamsOf<'lrFind'>): Promise<ResultOf<'lrFind'>> {
    return this.exclusive('lrFind', async () => {
      const learner = this.requireLearner();
      await this.fitBatchToMemory();
      return learner.lrFind(p);
    });
  }

  async fitOneCycle(p: ParamsOf<'fitOneCycle'>): Promise<ResultOf<'fitOneCycle'>> {
    return this.exclusive('fitOneCycle', async () => {
      const { epochs, maxLr, ...opts } = p;
      const learner = this.requireLearner();
      await this.fitBatchToMemory();
      return learner.fitOneCycle(epochs, maxLr ?? DEFAULT_LR, opts);
    });
  }

  async fineTune(p: ParamsOf<'fineTune'>): Promise<ResultOf<'fineTune'>> {
    return this.exclusive('fineTune', async () => {
      const { epochs, ...opts } = p;
      const learner = this.requireLearner();
      await this.fitBatchToMemory();
      return learner.fineTune(epochs, opts);
    });
  }

  async fit(p: ParamsOf<'fit'>): Promise<ResultOf<'fit'>> {
    return this.exclusive('fit', async () => {
      const learner = this.requireLearner();
      await this.fitBatchToMemory();
      return learner.fit(p.epochs, p.lr ?? DEFAULT_LR);
    });
  }

  private async fitBatchToMemory(): Promise<void> {
    const data = this.requireData();
    const backend = this.backend ?? (await this.backendInfo({}));
    await fitBatchToMemory({
      data, backend, arch: this.arch, emit: this.emit,
      rebuildLoaders: (bs) => swapLoaders(data, bs),
    });
  }

  async freeze(_p: ParamsOf<'freeze'>): Promise<ResultOf<'freeze'>> {
    return this.exclusive('freeze', async () => {
      this.requireLearner().freeze();
      return this.learnerSummary();
    });
  }

  async unfreeze(_p: ParamsOf<'unfreeze'>): Promise<ResultOf<'unfreeze'>> {
    return this.exclusive('unfreeze', async () => {
      this.requireLearner().unfreeze();
      return this.learnerSummary();
    });
  }

  async freezeTo(p: ParamsOf<'freezeTo'>): Promise<ResultOf<'freezeTo'>> {
    return this.exclusive('freezeTo', async () => {
      this.requireLearner().freezeTo(p.n);
      return this.learnerSummary();
    });
  }

  /** Ends the running fit/lr_find at the next batch boundary; answered at once. */
  async stop(_p: ParamsOf<'stop'>): Promise<ResultOf<'stop'>> {
    const running = this.busyWith ?? null;
    if (this.learner && running) this.learner.stop();
    return { stopping: running };
  }

  async save(p: ParamsOf<'save'>): Promise<ResultOf<'save'>> {
    return this.exclusive('save', async () => {
      const file = await this.requireLearner().save(p.name);
      return { path: typeof file === 'string' ? file : path.join(this.runDir(), 'models', p.name) };
    });
  }

  async load(p: ParamsOf<'load'>): Promise<ResultOf<'load'>> {
    return this.exclusive('load', async () => {
      await this.requireLearner().load(p.name);
      return this.learnerSummary();
    });
  }

  async export(p: ParamsOf<'export'>): Promise<ResultOf<'export'>> {
    return this.exclusive('export', async () => {
      const dir = path.resolve(p.dir ?? this.defaultExportDir(p.format ?? 'native'));
      return parts.exporter().exportLearner(this.requireLearner(), { dir, format: p.format ?? 'native' });
    });
  }

  async predict(p: ParamsOf<'predict'>): Promise<ResultOf<'predict'>> {
    await this.backendInfo({});
    const files = p.files.map((f) => path.resolve(f));
    let exported: AnyPredictor | undefined;
    if (p.modelDir !== undefined) {
      exported = await parts.exporter().loadAnyExport(path.resolve(p.modelDir));
    } else if (this.busyWith) {
      throw new TrainerError(`The trainer is busy with '${this.busyWith}'`, { fix: 'Wait for it to finish, or predict with an exported model (modelDir)' });
    }
    const predictor = exported ?? this.requireLearner();
    try {
      const out = [];
      const classes = exported?.classes ?? this.requireLearner().data.classes;
      for (const file of files) {
        const r = await predictor.predict(file);
        out.push({ file, ...r, ...(p.topk !== undefined ? { top: topK(r.probs, classes, p.topk) } : {}) });
      }
      return out;
    } finally {
      exported?.dispose();
    }
  }

  // --- interpretation (src/trainer/interpret) -------------------------------------------------

  /**
   * ClassificationInterpretation of the validation set as plain JSON: interpretation.json's summary,
   * with every item's class indices and probabilities (what the panels draw) and `confusion`.
   */
  async interpret(p: ParamsOf<'interpret'>): Promise<ResultOf<'interpret'>> {
    return this.exclusive('interpret', async () => {
      const api = parts.interpret();
      const interp = await api.interpretLearner(this.requireLearner(), { onEvent: this.emit });
      return interpretResult(interp, api.summarize(interp, { k: p.k ?? 9 }));
    });
  }

  /** fastai v2 learn.tta(n, beta): validation error with test-time augmentation, and the plain one. */
  async tta(p: ParamsOf<'tta'>): Promise<ResultOf<'tta'>> {
    return this.exclusive('tta', () => this.runTta(this.requireLearner(), p));
  }

  private async runTta(learner: Learner, p: ParamsOf<'tta'>): Promise<ResultOf<'tta'>> {
    const r = await parts.learner().tta(learner, { augmented: parts.data().ttaLoader(learner.data), ...(p.n !== undefined ? { n: p.n } : {}), ...(p.beta !== undefined ? { beta: p.beta } : {}) });
    this.emit({ type: 'log', level: 'info', message: `tta: error_rate ${r.errorRate.toFixed(4)} with ${r.n} augmented passes (beta ${r.beta}), ${r.plainErrorRate.toFixed(4)} without` });
    return { n: r.n, beta: r.beta, count: r.files.length, errorRate: r.errorRate, plainErrorRate: r.plainErrorRate };
  }

  /** The CLI's `interpret`: one validation pass, text to `out`, interpretation.json + report.html in outDir. */
  async interpretReport(opts: { outDir: string; k: number; out: { write(s: string): unknown }; tta?: { n?: number; beta?: number } }): Promise<{ summary: InterpretationSummary; jsonPath: string; htmlPath: string }> {
    return this.exclusive('interpret', async () => {
      const learner = this.requireLearner();
      const tta = opts.tta;
      const r = await parts.interpret().runInterpret({
        learner, outDir: opts.outDir, k: opts.k, out: opts.out, onEvent: this.emit,
        ...(tta ? { tta: () => this.runTta(learner, tta) } : {}),
      });
      return { summary: r.summary, jsonPath: r.jsonPath, htmlPath: r.htmlPath };
    });
  }

  /** Grad-CAM overlay (data: URL) of one image for the predicted or a chosen class. */
  async gradCam(p: ParamsOf<'gradCam'>): Promise<ResultOf<'gradCam'>> {
    return this.exclusive('gradCam', async () => {
      // Confined here, not only in the webview host: the file must be an image of the open dataset.
      const file = parts.interpret().confineToDataset(this.requireDataset(), p.file);
      return parts.interpret().gradCam(this.requireLearner(), file, p.classIndex !== undefined ? { classIndex: p.classIndex } : {});
    });
  }

  /** fastai v2's cleaner: rename/move the file so the dataset's own rule gives it newLabel (undoable). */
  async relabel(p: ParamsOf<'relabel'>): Promise<ResultOf<'relabel'>> {
    return this.exclusive('relabel', async () => parts.interpret().relabel(this.requireDataset(), path.resolve(p.file), p.newLabel));
  }

  /** Moves the file to the OS trash (else <dataset>/.trash); undoable. */
  async deleteFile(p: ParamsOf<'deleteFile'>): Promise<ResultOf<'deleteFile'>> {
    return this.exclusive('deleteFile', async () => parts.interpret().deleteFile(this.requireDataset(), path.resolve(p.file)));
  }

  /** Reverts the last relabel or delete recorded in the dataset's cleaner log. */
  async undo(_p: ParamsOf<'undo'>): Promise<ResultOf<'undo'>> {
    return this.exclusive('undo', async () => parts.interpret().undo(this.requireDataset()));
  }

  private requireDataset(): SplitDataset {
    if (!this.dataset) throw new TrainerError('No dataset is open', { fix: OPEN_DATASET_FIRST });
    return this.dataset;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Stops any running job, waits for it briefly, releases workers and tensors. Idempotent. */
  async shutdown(_p: ParamsOf<'shutdown'> = {}): Promise<ResultOf<'shutdown'>> {
    if (this.lock.isClosed) return { ok: true };
    if (this.busyWith) this.learner?.stop();
    await this.lock.close(10_000);
    this.disposeLearner();
    await this.closeData();
    return { ok: true };
  }

  private disposeLearner(): void {
    const l = this.learner;
    this.learner = undefined;
    l?.dispose();
  }

  private async closeData(): Promise<void> {
    const d = this.data;
    this.data = undefined;
    this.dataset = undefined;
    if (d) await d.close();
  }
}
