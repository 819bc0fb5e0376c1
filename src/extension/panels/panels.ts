// The extension's panels: one controller per kind, fed trainer events (live and replayed), the
// dataset, interpretation and run summaries, and user intent back out through onUserIntent.
// Implements the commands' PanelHost seam (../panelHost.ts).
import * as vscode from 'vscode';
import type { TrainerEvent } from '../../protocol/events';
import { DatasetBatch } from '../../protocol/dataset';
import type { CleanerChange, HostMessage, InterpretationData, PanelKind, RenderedSummary, UserIntent } from '../../protocol/webview';
import type { PanelHost } from '../panelHost';
import type { LrSpec } from '../../protocol/lr';
import { runName, type RunRecord } from '../runs';
import { PanelController, viewType } from './webview-panel';
import { PanelReplay, RUN_PANEL, type DatasetSummaryLike, type RunSource } from './panel-replay';
import { summarizeRunEvents, toRunSummary } from './run-summary';
import { fromInterpretationJson, isInterpretationJson, cellItems as interpCellItems } from './interpretation-data';

export interface UserIntentEvent {
  panel: PanelKind;
  intent: UserIntent;
}

export interface WebviewPanelsOptions {
  /** The dataset that is open now (for localResourceRoots and intent validation). */
  dataset?: () => DatasetSummaryLike | undefined;
  /** The dataset of the last session (after a reload nothing is open, but restored panels show its images). */
  lastDataset?: () => DatasetSummaryLike | undefined;
  /** The runs, their saved records and the events this session saw (the extension's RunStore). */
  runs: RunSource;
  log?: (message: string) => void;
}

const PANEL_KINDS: readonly PanelKind[] = ['dataset', 'lrFinder', 'training', 'interpretation', 'runComparison'];

export class WebviewPanels implements PanelHost, vscode.Disposable {
  private readonly controllers = new Map<PanelKind, PanelController>();
  private readonly state: PanelReplay;
  private interpretationRaw: unknown;
  private readonly intentEmitter = new vscode.EventEmitter<UserIntentEvent>();
  /** What the user asked for in a panel, validated (stop, setMaxLr, relabel, delete, undo, …). */
  readonly onUserIntent = this.intentEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly o: WebviewPanelsOptions,
  ) {
    this.state = new PanelReplay(o.runs);
  }

  /**
   * Brings back, after a window reload, the panels that were open: VS Code hands each one over with
   * the state its page saved (getState); the run panels redraw their run from the saved record, the
   * others keep what the page saved until the host has something newer.
   */
  registerSerializers(): vscode.Disposable[] {
    return PANEL_KINDS.map((kind) =>
      vscode.window.registerWebviewPanelSerializer(viewType(kind), {
        deserializeWebviewPanel: async (panel, saved) => {
          if (this.controllers.has(kind)) {
            panel.dispose(); // one panel per kind
            return;
          }
          const runId = savedRunId(saved);
          if (runId && (kind === 'training' || kind === 'lrFinder') && !this.state.shownRun.has(kind)) this.state.shownRun.set(kind, runId);
          this.open(kind, panel);
        },
      }),
    );
  }

  // --- PanelHost -------------------------------------------------------------------------------

  showRun(run: RunRecord): void {
    const kind = RUN_PANEL[run.kind];
    const switched = this.state.shownRun.get(kind) !== run.runId;
    this.state.shownRun.set(kind, run.runId);
    const c = this.controllers.get(kind);
    if (c && switched) this.sendAll(c, kind);
    this.open(kind);
  }

  post(event: TrainerEvent): void {
    if (event.type === 'dataset') {
      this.state.datasetEvent = event;
      this.forward('dataset', { type: 'events', events: [event] });
      for (const c of this.controllers.values()) c.refreshRoots();
      return;
    }
    if (event.type === 'fit_begin') {
      const kind = RUN_PANEL[event.kind];
      if (this.state.shownRun.get(kind) !== event.runId) {
        this.state.shownRun.set(kind, event.runId);
        this.forward(kind, { type: 'reset' });
      }
    }
    if (!('runId' in event)) {
      if (event.type === 'error') for (const k of ['training', 'lrFinder', 'dataset'] as const) this.forward(k, { type: 'events', events: [event] });
      return;
    }
    for (const kind of ['training', 'lrFinder'] as const) {
      if (this.state.shownRun.get(kind) === event.runId) this.forward(kind, { type: 'events', events: [event] });
    }
  }

  showDataset(batch: unknown, summary: unknown): void {
    const parsedBatch = DatasetBatch.safeParse(batch);
    if (parsedBatch.success) this.state.batch = parsedBatch.data;
    const s = summary as DatasetSummaryLike | undefined;
    if (s && typeof s.root === 'string' && Array.isArray(s.classes)) this.state.setDataset(s);
    const c = this.controllers.get('dataset');
    if (c) {
      c.refreshRoots();
      this.sendAll(c, 'dataset');
    }
    this.open('dataset');
  }

  showInterpretation(result: unknown, _focus: 'interpretation' | 'results'): void {
    this.interpretationRaw = result;
    this.state.setInterpretation(undefined);
    const c = this.open('interpretation');
    c.refreshRoots();
    this.state.interpretation = this.toData(result, c);
    this.sendAll(c, 'interpretation');
  }

  compareRuns(runs: readonly RunRecord[]): void {
    this.state.comparison = runs.map((r) => summarizeRunEvents(this.o.runs.eventsOf(r.runId), runName(r)) ?? toRunSummary(r, runName(r)));
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

  // --- answers to intents ----------------------------------------------------------------------

  /** A Grad-CAM overlay for a file: the trainer's gradCam answer is already a `data:image/png;base64,` URL. */
  showGradCam(file: string, overlay: string): void {
    const src = overlayDataUrl(overlay);
    if (!src) return this.notice('interpretation', 'error', `Grad-CAM of ${file}: the trainer sent no PNG overlay`);
    this.state.gradCams.set(file, src);
    this.forward('interpretation', { type: 'gradCam', file, src });
  }

  /** The cleaner's applied changes after relabel/delete/undo (oldest first). */
  setCleanerChanges(changes: CleanerChange[]): void {
    this.state.cleanerChanges = changes;
    this.forward('interpretation', { type: 'cleaner', changes });
  }

  /** The dataset summary changed (a relabel moved an image): an open dataset panel redraws its counts. */
  refreshDataset(summary: DatasetSummaryLike): void {
    this.state.setDataset(summary);
    const c = this.controllers.get('dataset');
    if (c) this.sendAll(c, 'dataset');
  }

  /** The max lr the next Fit One Cycle uses (with where it comes from in words), for the LR-finder panel. */
  setNextLr(lr: LrSpec, source: string): void {
    const m = { type: 'nextLr', lr, source } as const;
    if (JSON.stringify(m) === JSON.stringify(this.state.nextLr)) return;
    this.state.nextLr = m;
    this.forward('lrFinder', m);
  }

  notice(kind: PanelKind, level: 'info' | 'warn' | 'error', message: string): void {
    this.forward(kind, { type: 'notice', level, message });
  }

  // --- internals -------------------------------------------------------------------------------

  private datasetRoot(): string | undefined {
    return this.o.dataset?.()?.root ?? this.state.datasetEvent?.root ?? this.state.interpretation?.datasetRoot ?? this.o.lastDataset?.()?.root;
  }

  private classes(): readonly string[] | undefined {
    return this.o.dataset?.()?.classes ?? this.state.datasetEvent?.classes ?? this.state.interpretation?.classes;
  }

  private toData(result: unknown, c: PanelController): InterpretationData | undefined {
    if (!isInterpretationJson(result)) return undefined;
    return fromInterpretationJson(result, { datasetRoot: this.datasetRoot(), toSrc: (f) => c.imageSrc(f) });
  }

  private open(kind: PanelKind, restored?: vscode.WebviewPanel): PanelController {
    let c = this.controllers.get(kind);
    if (c) {
      c.reveal();
      return c;
    }
    c = new PanelController({
      kind,
      panel: restored,
      // tabs in one column beside the editor: the column the other panels are in, else beside
      column: [...this.controllers.values()].map((x) => x.panel.viewColumn).find((v) => v !== undefined),
      context: this.context,
      datasetRoot: () => this.datasetRoot(),
      classes: () => this.classes(),
      replay: () => this.state.messages(kind),
      onIntent: (intent, panel) => this.handleIntent(intent, panel),
      log: this.o.log,
    });
    this.controllers.set(kind, c);
    c.onDidDispose(() => this.controllers.delete(kind));
    return c;
  }

  private handleIntent(intent: UserIntent, panel: PanelKind): void {
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
      const known = intent.files.filter((f) => this.state.gradCams.has(f));
      for (const f of known) this.forward('interpretation', { type: 'gradCam', file: f, src: this.state.gradCams.get(f) as string });
    }
    this.intentEmitter.fire({ panel, intent });
  }

  private sendAll(c: PanelController, kind: PanelKind): void {
    for (const m of this.state.messages(kind)) c.post(m);
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

/** The overlay as the page may load it: a PNG data URL (passed through, never prefixed twice), else undefined. */
export function overlayDataUrl(overlay: string): string | undefined {
  return /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/.test(overlay) ? overlay : undefined;
}

/** The run a page saved in its state (training: state.run.runId, LR finder: state.runId). */
function savedRunId(saved: unknown): string | undefined {
  const st = (saved as { state?: { runId?: unknown; run?: { runId?: unknown } } } | undefined)?.state;
  const id = st?.run?.runId ?? st?.runId;
  return typeof id === 'string' ? id : undefined;
}
