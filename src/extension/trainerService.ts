// The VS Code side of the trainer process: starts it lazily with the user's settings, routes its
// events (run history, views, status bar, panels), keeps the per-workspace state, and turns a
// crash into a notification with a Restart action that brings the dataset and learner back.
import * as vscode from 'vscode';
import * as fs from 'fs';
import { TrainerClient, ExitInfo, TrainerRequestError } from './trainerClient';
import { RunStore, RunRecord } from './runs';
import { createProgressGate } from './throttle';
import { NextMaxLr } from './nextLr';
import { logLine, runLogLines } from './runLog';
import type { LrSpec } from '../protocol/lr';
import type { DatasetSummary } from '../protocol/dataset';
import type { BackendInfo, TrainerEvent } from '../protocol/events';
import type { DataOptions, LearnerSummary, Method, ParamsOf, ResultOf } from '../protocol/requests';
import { allocatorEnv, findJemalloc } from '../protocol/trainer-launch';

/** The learner as the trainer last described it. */
export type LearnerState = LearnerSummary;

export interface JobProgress {
  runId: string;
  kind: RunRecord['kind'];
  epoch: number;
  epochs: number;
  /** Batch within the epoch, and within the run. */
  iter: number;
  batchesPerEpoch: number;
  step: number;
  totalBatches: number;
  smoothLoss?: number;
}

const KEY_DATASET = 'imageTrainer.lastDataset';
const KEY_LEARNER = 'imageTrainer.learnerConfig';
const LONG_JOBS: ReadonlySet<Method> = new Set<Method>(['lrFind', 'fitOneCycle', 'fineTune', 'fit', 'interpret', 'tta']);

export interface CrashRecord {
  at: number;
  reason: string;
  code: number | null;
  signal: string | null;
  failedRuns: string[];
}

export class TrainerService implements vscode.Disposable {
  readonly runs: RunStore;
  /** The max lr the next Fit One Cycle uses: picked on the LR-finder plot, else suggested, else the default. */
  readonly nextLr: NextMaxLr;
  /** The learner trained (fit / fit_one_cycle) since it was created, loaded or saved. */
  unsavedWeights = false;
  private client: TrainerClient;
  backend?: BackendInfo;
  /** The dataset open in the running trainer (undefined after a crash until reopened). */
  dataset?: { summary: DatasetSummary; options: DataOptions };
  learner?: LearnerState;
  progress?: JobProgress;
  /** The long request in flight, if any (set before fit_begin arrives). */
  busy?: Method;
  readonly crashes: CrashRecord[] = [];
  /** The trainer's last log lines (to explain failures such as running out of memory). */
  readonly recentLog: string[] = [];

  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Fires when dataset/learner/backend/progress/busy change (throttled with progress). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly uiEventEmitter = new vscode.EventEmitter<TrainerEvent>();
  /** Trainer events for the UI: batch events at most 10/s, the last one always delivered. */
  readonly onUiEvent = this.uiEventEmitter.event;
  private readonly rawEventEmitter = new vscode.EventEmitter<TrainerEvent>();
  /** Every trainer event, unthrottled. */
  readonly onEvent = this.rawEventEmitter.event;
  private readonly gate = createProgressGate<TrainerEvent>(
    (e) => e.type === 'batch',
    (e) => {
      this.uiEventEmitter.fire(e);
      this.changeEmitter.fire();
    },
  );
  private readonly disposables: vscode.Disposable[] = [];
  private backendChecked = false;
  private disposed = false;
  /** What the trainer had open when it crashed, for Restart to bring back. */
  private lostState?: { dataset?: DataOptions; learner?: ParamsOf<'createLearner'> };

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
    private readonly childModule: string,
  ) {
    this.runs = new RunStore(context.workspaceState);
    this.nextLr = new NextMaxLr(() => this.runs.list());
    this.client = this.createClient();
    this.disposables.push(
      this.changeEmitter,
      this.uiEventEmitter,
      this.rawEventEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('imageTrainer.backend') && this.client.running)
          void vscode.window
            .showInformationMessage('Image Trainer: the backend setting takes effect when the trainer restarts.', 'Restart Trainer')
            .then((a) => a && vscode.commands.executeCommand('imageTrainer.restartTrainer'));
      }),
    );
    this.runs.onDidChange(() => {
      void this.updateContext();
      this.changeEmitter.fire();
    });
    void this.updateContext();
  }

  get trainerPid(): number | undefined {
    return this.client.pid;
  }

  get running(): boolean {
    return this.client.running;
  }

  get training(): boolean {
    return this.busy !== undefined && LONG_JOBS.has(this.busy);
  }

  /** Last dataset options and learner config, persisted per workspace (prefill and restore). */
  get lastDataset(): { options: DataOptions; summary?: DatasetSummary } | undefined {
    return this.context.workspaceState.get(KEY_DATASET);
  }

  get lastLearnerConfig(): ParamsOf<'createLearner'> | undefined {
    return this.context.workspaceState.get(KEY_LEARNER);
  }

  /** Sends a request, starting the trainer (and selecting the configured backend) on first need. */
  async request<M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.disposed) throw new Error('Image Trainer is shutting down');
    if (!this.client.running) this.backendChecked = false;
    if (!this.backendChecked && method !== 'backendInfo' && method !== 'stop' && method !== 'shutdown') {
      await this.backendInfo();
    }
    const long = LONG_JOBS.has(method);
    if (long) this.setBusy(method);
    try {
      const result = await this.client.request(method, params);
      this.afterRequest(method, params, result);
      return result;
    } finally {
      if (long) this.setBusy(undefined);
    }
  }

  /** The backend the trainer uses, starting the trainer if needed (honours the backend setting). */
  async backendInfo(): Promise<BackendInfo> {
    const preferred = this.preferredBackend();
    let info: BackendInfo;
    try {
      info = await this.client.request('backendInfo', { backend: preferred });
    } catch (err) {
      if (!(err instanceof TrainerRequestError) || !preferred) throw err;
      throw new TrainerRequestError(
        'backendInfo',
        err.message,
        err.file,
        // The setting chose this backend, so the fix in VS Code starts there; the trainer's own fix says how to install it.
        `Set the imageTrainer.backend setting to "auto" (or ${err.fix ?? 'install the missing package'}), then run Image Trainer: Restart Trainer`,
      );
    }
    this.backendChecked = true;
    this.backend = info;
    this.changeEmitter.fire();
    return info;
  }

  /** A max lr picked on the LR-finder plot: the next Fit One Cycle's, until the dataset, learner or a new lr_find replaces it. */
  pickMaxLr(lr: LrSpec): void {
    this.nextLr.pick(lr);
    this.changeEmitter.fire();
  }

  /** A relabel moved an image from one class to another: the Dataset view and panel show the new counts at once. */
  noteRelabel(oldLabel: string, newLabel: string, split: 'train' | 'valid'): void {
    const counts = this.dataset?.summary.counts;
    if (!counts) return;
    const from = counts.find((c) => c.name === oldLabel);
    const to = counts.find((c) => c.name === newLabel);
    if (!from || !to || from === to || from[split] <= 0) return;
    from[split]--;
    to[split]++;
    this.changeEmitter.fire();
  }

  /** Ends a running fit/lr_find at the next batch boundary. */
  async stop(): Promise<void> {
    if (!this.client.running) return;
    await this.client.request('stop', {});
  }

  /** Restarts the trainer process, then reopens the last dataset and recreates the learner. */
  async restart(): Promise<{ restoredDataset: boolean; restoredLearner: boolean }> {
    const prevDataset = this.dataset?.options ?? this.lostState?.dataset;
    const prevLearner = this.learner ? this.lastLearnerConfig : this.lostState?.learner;
    await this.client.dispose();
    this.resetTrainerState();
    // kept until restored, so a restart that fails (e.g. an unavailable backend setting) can be retried
    this.lostState = prevDataset ? { dataset: prevDataset, learner: prevLearner } : undefined;
    this.client.start();
    const restored = { restoredDataset: false, restoredLearner: false };
    await this.backendInfo();
    this.lostState = undefined;
    if (prevDataset) {
      try {
        await this.request('openDataset', prevDataset);
        restored.restoredDataset = true;
        if (prevLearner) {
          await this.request('createLearner', prevLearner);
          restored.restoredLearner = true;
        }
      } catch (err) {
        this.output.warn(`restart: could not restore the previous state: ${(err as Error).message}`);
      }
    }
    return restored;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.gate.dispose();
    try {
      await this.client.dispose();
    } finally {
      this.client.killNow();
      for (const d of this.disposables) d.dispose();
    }
  }

  /** Synchronous kill for the extension host's exit path. */
  killNow(): void {
    this.client.killNow();
  }

  private preferredBackend(): string | undefined {
    const pref = vscode.workspace.getConfiguration('imageTrainer').get<string>('backend', 'auto');
    return pref && pref !== 'auto' ? pref : undefined;
  }

  private createClient(): TrainerClient {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const client = new TrainerClient({
      modulePath: this.childModule,
      cwd: folder,
      log: (line) => {
        logLine(this.output, line);
        this.recentLog.push(line);
        if (this.recentLog.length > 50) this.recentLog.shift();
      },
      env: { IMAGE_TRAINER_PARENT: 'vscode', ...allocatorEnv(process.env, findJemalloc(fs.existsSync, process.platform)) },
    });
    client.onEvent((e) => this.receive(e));
    client.onExit((info) => this.exited(info));
    return client;
  }

  private receive(event: TrainerEvent): void {
    const context: Record<string, string> = {};
    if (this.dataset) context.dataset = this.dataset.summary.root;
    if (this.learner) context.arch = this.learner.arch;
    const run = this.runs.apply(event, context);
    for (const l of runLogLines(event, run)) this.output[l.level](l.text);
    switch (event.type) {
      case 'backend':
        this.backend = event.backend;
        break;
      case 'dataset':
        // the request's own result also sets it; the event may come first
        break;
      case 'fit_begin':
        this.progress = { runId: event.runId, kind: event.kind, epoch: 0, epochs: event.epochs, iter: -1, batchesPerEpoch: event.batchesPerEpoch, step: -1, totalBatches: event.totalBatches };
        if (this.learner && event.kind !== 'lr_find') {
          this.learner.frozenTo = event.frozenTo;
          this.learner.layerGroups = event.layerGroups;
        }
        if (event.kind === 'lr_find') this.nextLr.forgetPick();
        else this.unsavedWeights = true; // lr_find puts the weights back; a fit changes them from its first batch
        break;
      case 'batch':
        if (this.progress?.runId === event.runId) {
          this.progress.step = event.step;
          this.progress.iter = event.iter;
          this.progress.epoch = event.epoch;
          this.progress.smoothLoss = event.smoothLoss;
        }
        break;
      case 'fit_end':
        if (this.progress?.runId === event.runId) this.progress = undefined;
        // fine_tune unfreezes the body (or, stopped in its first phase, leaves it frozen): the Learner view follows
        if (this.learner && event.frozenTo !== undefined) this.learner.frozenTo = event.frozenTo;
        break;
      case 'error':
        this.output.error(`${event.message}${event.file ? ` (file: ${event.file})` : ''}${event.fix ? ` — fix: ${event.fix}` : ''}`);
        break;
    }
    this.rawEventEmitter.fire(event);
    this.gate.push(event);
  }

  private afterRequest<M extends Method>(method: M, params: ParamsOf<M>, result: ResultOf<M>): void {
    const answer = { method, params, result } as AnsweredRequest;
    switch (answer.method) {
      case 'changeSize': {
        if (this.dataset) {
          this.dataset = {
            summary: { ...this.dataset.summary, transforms: answer.result.transforms },
            options: { ...this.dataset.options, size: answer.result.size, bs: answer.result.bs },
          };
          void this.context.workspaceState.update(KEY_DATASET, this.dataset);
        }
        break;
      }
      case 'openDataset': {
        const { params: options, result: summary } = answer;
        this.dataset = { summary, options };
        this.learner = undefined; // the trainer replaced its data; a learner must be created for it
        this.nextLr.reset();
        this.unsavedWeights = false;
        void this.context.workspaceState.update(KEY_DATASET, { options, summary });
        break;
      }
      case 'createLearner':
        this.learner = { ...answer.result };
        void this.context.workspaceState.update(KEY_LEARNER, answer.params);
        this.nextLr.reset();
        this.unsavedWeights = false;
        break;
      case 'save':
        this.unsavedWeights = false;
        break;
      case 'load':
      case 'freeze':
      case 'unfreeze':
      case 'freezeTo':
        if (answer.method === 'load') {
          this.nextLr.reset(); // other weights: picks and suggestions so far were for another model
          this.unsavedWeights = false;
        }
        if (this.learner) {
          this.learner.frozenTo = answer.result.frozenTo;
          this.learner.layerGroups = answer.result.layerGroups;
        }
        break;
    }
    void this.updateContext();
    this.changeEmitter.fire();
  }

  private setBusy(method: Method | undefined): void {
    this.busy = method;
    void this.updateContext();
    this.changeEmitter.fire();
  }

  private exited(info: ExitInfo): void {
    this.gate.flush();
    // The trainer cannot send fit_end any more: the run store says it on its behalf, and open panels stop "running".
    const failed = this.runs.failActive(`the trainer process ended during the run: ${info.reason}`).map(({ run, end }) => {
      this.rawEventEmitter.fire(end);
      this.gate.push(end);
      return run;
    });
    const hadState = this.dataset !== undefined || this.learner !== undefined;
    if (!info.expected && hadState) this.lostState = { dataset: this.dataset?.options, learner: this.learner ? this.lastLearnerConfig : undefined };
    this.resetTrainerState();
    if (info.expected || this.disposed) return;
    const record: CrashRecord = { at: Date.now(), reason: info.reason, code: info.code, signal: info.signal, failedRuns: failed.map((r) => r.runId) };
    this.crashes.push(record);
    this.output.error(`the trainer process stopped unexpectedly: ${info.reason}`);
    const lost = failed.length ? ` The running ${failed[0].kind} was marked failed in the Runs view.` : '';
    const restore = hadState ? ' Restart reopens the dataset and recreates the learner (weights since the last Save Model are lost).' : '';
    void vscode.window
      .showErrorMessage(`Image Trainer: the trainer process stopped unexpectedly (${info.reason}).${lost}${restore}`, 'Restart', 'Show Log')
      .then((choice) => {
        if (choice === 'Restart') void vscode.commands.executeCommand('imageTrainer.restartTrainer');
        else if (choice === 'Show Log') this.output.show(true);
      });
  }

  private resetTrainerState(): void {
    this.dataset = undefined;
    this.learner = undefined;
    this.unsavedWeights = false;
    this.progress = undefined;
    this.busy = undefined;
    this.backendChecked = false;
    void this.updateContext();
    this.changeEmitter.fire();
  }

  private async updateContext(): Promise<void> {
    const set = (key: string, value: unknown) => vscode.commands.executeCommand('setContext', key, value);
    await Promise.all([
      set('imageTrainer.datasetOpen', this.dataset !== undefined),
      set('imageTrainer.learnerReady', this.learner !== undefined),
      set('imageTrainer.training', this.training),
      set('imageTrainer.hasRuns', this.runs.list().length > 0),
      set('imageTrainer.trainerRunning', this.client?.running ?? false),
    ]);
  }
}

/** A request with its params and answer, narrowed together by the method. */
type AnsweredRequest = { [M in Method]: { method: M; params: ParamsOf<M>; result: ResultOf<M> } }[Method];
