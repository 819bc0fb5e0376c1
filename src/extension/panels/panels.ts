// The extension's panels: one controller per kind, fed trainer events (live and replayed), the
// dataset, interpretation and run summaries, and user intent back out through onUserIntent.
// Implements the commands' PanelHost seam (../panelHost.ts).
import * as vscode from 'vscode';
import type { TrainerEvent } from '../../protocol/events';
import type { CleanerChange, DatasetBatch, HostMessage, InterpretationData, PanelKind, RenderedSummary, RunSummary, UserIntent } from '../../protocol/webview';
import type { PanelHost } from '../panelHost';
import type { RunRecord } from '../runs';
import { PanelController } from './webview-panel';
import { RunHistory } from './run-history';
import { fromInterpretationJson, isInterpretationJson, cellItems as interpCellItems } from './interpretation-data';
import { PANEL_TITLES } from './html';

export interface UserIntentEvent {
  panel: PanelKind;
  intent: UserIntent;
}

export interface DatasetSummaryLike {
  root: string;
  classes: string[];
  rule?: Record<string, unknown>;
  counts?: { name: string; train: number; valid: number }[];
  trainCount?: number;
  validCount?: number;
  skipped?: { file: string; reason: string }[];
}

export interface WebviewPanelsOptions {
  /** The dataset that is open now (for localResourceRoots and intent validation). */
  dataset?: () => DatasetSummaryLike | undefined;
  log?: (message: string) => void;
}

const RUN_PANEL: Record<RunRecord['kind'], PanelKind> = { lr_find: 'lrFinder', fit: 'training', fit_one_cycle: 'training' };

export class WebviewPanels implements PanelHost, vscode.Disposable {
  private readonly controllers = new Map<PanelKind, PanelController>();
  private readonly history = new RunHistory();
  /** Run shown by each run panel. */
  private readonly shownRun = new Map<PanelKind, string>();
  private datasetEvent: Extract<TrainerEvent, { type: 'dataset' }> | undefined;
  private batch: DatasetBatch | undefined;
  private interpretation: InterpretationData | undefined;
  private interpretationRaw: unknown;
  private comparison: RunSummary[] = [];
  private cleanerChanges: CleanerChange[] = [];
  private readonly gradCams = new Map<string, string>();
  private readonly intentEmitter = new vscode.EventEmitter<UserIntentEvent>();
  /** What the user asked for in a panel, validated (stop, setMaxLr, relabel, delete, undo, …). */
  readonly onUserIntent = this.intentEmitter.event;
  /** The last max lr picked in the LR finder (a number or a slice), for Fit One Cycle's prefill. */
  lastChosenLr: number | { start: number; stop: number } | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly o: WebviewPanelsOptions = {},
  ) {}

  // --- PanelHost -------------------------------------------------------------------------------

  showRun(run: RunRecord, events: readonly TrainerEvent[]): void {
    const kind = RUN_PANEL[run.kind];
    if (!this.history.events(run.runId).length) for (const e of events) this.history.record(e);
    const switched = this.shownRun.get(kind) !== run.runId;
    this.shownRun.set(kind, run.runId);
    const c = this.controllers.get(kind);
    if (c && switched) this.sendAll(c, kind);
    this.open(kind);
  }

  post(event: TrainerEvent): void {
    this.history.record(event);
    if (event.type === 'dataset') {
      this.datasetEvent = event;
      this.forward('dataset', { type: 'events', events: [event] });
      for (const c of this.controllers.values()) c.refreshRoots();
      return;
    }
    if (event.type === 'fit_begin') {
      const kind = RUN_PANEL[event.kind];
      if (this.shownRun.get(kind) !== event.runId) {
        this.shownRun.set(kind, event.runId);
        this.forward(kind, { type: 'reset' });
      }
    }
    if (!('runId' in event)) {
      if (event.type === 'error') for (const k of ['training', 'lrFinder', 'dataset'] as const) this.forward(k, { type: 'events', events: [event] });
      return;
    }
    for (const kind of ['training', 'lrFinder'] as const) {
      if (this.shownRun.get(kind) === event.runId) this.forward(kind, { type: 'events', events: [event] });
    }
  }

  showDataset(batch: unknown, summary: unknown): void {
    if (isDatasetBatch(batch)) this.batch = batch;
    const s = summary as DatasetSummaryLike | undefined;
    if (s && typeof s.root === 'string' && Array.isArray(s.classes)) {
      this.datasetEvent = {
        type: 'dataset',
        root: s.root,
        rule: s.rule ?? {},
        classes: s.classes,
        counts: s.counts ?? [],
        trainCount: s.trainCount ?? 0,
        validCount: s.validCount ?? 0,
        skipped: s.skipped ?? [],
      };
    }
    const c = this.controllers.get('dataset');
    if (c) {
      c.refreshRoots();
      this.sendAll(c, 'dataset');
    }
    this.open('dataset');
  }

  showInterpretation(result: unknown, _focus: 'interpretation' | 'results'): void {
    this.interpretationRaw = result;
    this.cleanerChanges = [];
    this.gradCams.clear();
    const c = this.open('interpretation');
    c.refreshRoots();
    this.interpretation = this.toData(result, c);
    this.sendAll(c, 'interpretation');
  }

  compareRuns(runs: readonly RunRecord[]): void {
    this.comparison = runs.map((r) => this.history.summary(r.runId, r.runId) ?? summaryFromRecord(r));
    const c = this.open('runComparison');
    this.sendAll(c, 'runComparison');
  }

  openPanels(): string[] {
    return [...this.controllers.values()].map((c) => c.panel.title);
  }

  /** What the open page of this kind last reported having drawn (e.g. {points, rows}); for tests in a real VS Code. */
  rendered(kind: PanelKind): RenderedSummary | undefined {
    return this.controllers.get(kind)?.rendered;
  }

  /** Resolves when the page of this kind reports a drawing that satisfies `accept` (or rejects after timeoutMs). */
  waitForRender(kind: PanelKind, accept: (s: RenderedSummary) => boolean, timeoutMs = 20000): Promise<RenderedSummary> {
    return new Promise((resolve, reject) => {
      const now = this.rendered(kind);
      if (now && accept(now)) return resolve(now);
      const subs: vscode.Disposable[] = [];
      const timer = setTimeout(() => {
        subs.forEach((d) => d.dispose());
        reject(new Error(`the ${kind} panel did not draw the expected data within ${timeoutMs} ms; last: ${JSON.stringify(this.rendered(kind) ?? null)}`));
      }, timeoutMs);
      const watch = (c: PanelController) =>
        subs.push(
          c.onDidRender((s) => {
            if (!accept(s)) return;
            clearTimeout(timer);
            subs.forEach((d) => d.dispose());
            resolve(s);
          }),
        );
      const c = this.controllers.get(kind);
      if (c) watch(c);
      else {
        // not open yet: watch it once it is
        const poll = setInterval(() => {
          const opened = this.controllers.get(kind);
          if (!opened) return;
          clearInterval(poll);
          watch(opened);
        }, 100);
        subs.push({ dispose: () => clearInterval(poll) });
      }
    });
  }

  // --- answers to intents ----------------------------------------------------------------------

  /** A Grad-CAM overlay for a file: PNG bytes (base64) as the trainer's gradCam returns them. */
  showGradCam(file: string, pngBase64: string): void {
    const src = `data:image/png;base64,${pngBase64}`;
    this.gradCams.set(file, src);
    this.forward('interpretation', { type: 'gradCam', file, src });
  }

  /** The cleaner's applied changes after relabel/delete/undo (oldest first). */
  setCleanerChanges(changes: CleanerChange[]): void {
    this.cleanerChanges = changes;
    this.forward('interpretation', { type: 'cleaner', changes });
  }

  notice(kind: PanelKind, level: 'info' | 'warn' | 'error', message: string): void {
    this.forward(kind, { type: 'notice', level, message });
  }

  // --- internals -------------------------------------------------------------------------------

  private datasetRoot(): string | undefined {
    return this.o.dataset?.()?.root ?? this.datasetEvent?.root ?? this.interpretation?.datasetRoot;
  }

  private classes(): readonly string[] | undefined {
    return this.o.dataset?.()?.classes ?? this.datasetEvent?.classes ?? this.interpretation?.classes;
  }

  private toData(result: unknown, c: PanelController): InterpretationData | undefined {
    if (!isInterpretationJson(result)) return undefined;
    return fromInterpretationJson(result, { datasetRoot: this.datasetRoot(), toSrc: (f) => c.imageSrc(f) });
  }

  private open(kind: PanelKind): PanelController {
    let c = this.controllers.get(kind);
    if (c) {
      c.reveal();
      return c;
    }
    c = new PanelController({
      kind,
      context: this.context,
      datasetRoot: () => this.datasetRoot(),
      classes: () => this.classes(),
      replay: () => this.replay(kind),
      onIntent: (intent, panel) => this.handleIntent(intent, panel),
      log: this.o.log,
    });
    this.controllers.set(kind, c);
    c.onDidDispose(() => this.controllers.delete(kind));
    return c;
  }

  private handleIntent(intent: UserIntent, panel: PanelKind): void {
    if (intent.type === 'setMaxLr') this.lastChosenLr = typeof intent.lr === 'number' ? intent.lr : { start: intent.lr.start ?? intent.lr.stop / 10, stop: intent.lr.stop };
    if (intent.type === 'requestCellItems' && this.interpretationRaw && isInterpretationJson(this.interpretationRaw)) {
      const r = this.interpretationRaw;
      const c = this.controllers.get('interpretation');
      const items = interpCellItems(
        { classes: r.classes, items: r.items, confusionMatrix: () => r.confusion, mostConfused: () => [], perClass: () => [], errorRate: () => r.errorRate },
        intent.actual,
        intent.predicted,
        (f) => c?.imageSrc(f) ?? '',
      );
      this.forward('interpretation', { type: 'cellItems', actual: intent.actual, predicted: intent.predicted, items });
    }
    if (intent.type === 'toggleGradCam' && intent.enabled && intent.files) {
      const known = intent.files.filter((f) => this.gradCams.has(f));
      for (const f of known) this.forward('interpretation', { type: 'gradCam', file: f, src: this.gradCams.get(f) as string });
    }
    this.intentEmitter.fire({ panel, intent });
  }

  /** Everything a (re)loaded page of this kind should show. */
  private replay(kind: PanelKind): HostMessage[] {
    const out: HostMessage[] = [{ type: 'reset' }];
    switch (kind) {
      case 'training':
      case 'lrFinder': {
        const runId = this.shownRun.get(kind) ?? this.history.latest(kind === 'lrFinder' ? ['lr_find'] : ['fit', 'fit_one_cycle']);
        if (runId) out.push({ type: 'events', events: this.history.events(runId) });
        break;
      }
      case 'dataset':
        if (this.datasetEvent) out.push({ type: 'events', events: [this.datasetEvent] });
        if (this.batch) out.push({ type: 'datasetBatch', batch: this.batch });
        break;
      case 'interpretation':
        if (this.interpretation) out.push({ type: 'interpretation', data: this.interpretation });
        if (this.cleanerChanges.length) out.push({ type: 'cleaner', changes: this.cleanerChanges });
        for (const [file, src] of this.gradCams) out.push({ type: 'gradCam', file, src });
        break;
      case 'runComparison':
        out.push({ type: 'runs', runs: this.comparison });
        break;
    }
    return out;
  }

  private sendAll(c: PanelController, kind: PanelKind): void {
    for (const m of this.replay(kind)) c.post(m);
  }

  private forward(kind: PanelKind, m: HostMessage): void {
    this.controllers.get(kind)?.post(m);
  }

  dispose(): void {
    for (const c of [...this.controllers.values()]) c.dispose();
    this.controllers.clear();
    this.intentEmitter.dispose();
  }
}

function isDatasetBatch(v: unknown): v is DatasetBatch {
  const b = v as Partial<DatasetBatch> | null;
  return !!b && (b.split === 'train' || b.split === 'valid') && Array.isArray(b.items);
}

/** A comparison entry from the persisted record alone (after a reload the batch events are gone). */
function summaryFromRecord(r: RunRecord): RunSummary {
  return {
    runId: r.runId,
    label: r.runId,
    kind: r.kind,
    trainLoss: r.epochRows.map((e) => [(e.epoch + 1) * r.batchesPerEpoch - 1, e.trainLoss]),
    epochs: r.epochRows.map((e) => ({ ...e, step: (e.epoch + 1) * r.batchesPerEpoch - 1 })),
    batchesPerEpoch: r.batchesPerEpoch,
    lrs: r.lrs,
    status: r.status,
  };
}

export { PANEL_TITLES };
