// One webview panel of a kind: created with the CSP page from html.ts (or adopted from VS Code's
// serializer after a reload), scripts enabled, localResourceRoots = [extension media, dataset
// folder], messages from the page validated before anything acts on them, host messages held back
// until the page says 'ready' and while hidden (a hidden webview is destroyed; on re-show it posts
// 'ready' again and gets a full replay). A page that does not say 'ready' within READY_DEADLINE_MS
// of being (re)loaded or shown gets its HTML set again, so a panel never stays blank.
import * as vscode from 'vscode';
import { panelHtml, makeNonce, PANEL_TITLES } from './html';
import type { HostMessage, PanelKind, RenderedSummary, UserIntent } from '../../protocol/webview';
import { validateWebviewMessage, isInsideRoot, type IntentContext } from './validate-message';

export interface PanelControllerOptions {
  kind: PanelKind;
  context: vscode.ExtensionContext;
  /** Dataset folder for localResourceRoots and for judging relabel/delete/gradCam files. */
  datasetRoot: () => string | undefined;
  classes: () => readonly string[] | undefined;
  /** Messages to send when the page (re)loads: everything it should show. */
  replay: () => HostMessage[];
  onIntent: (intent: UserIntent, kind: PanelKind) => void;
  log?: (message: string) => void;
  column?: vscode.ViewColumn;
  /** A panel VS Code restored after a reload (WebviewPanelSerializer): adopted instead of created. */
  panel?: vscode.WebviewPanel;
  /** Milliseconds a (re)loaded or re-shown page has to say 'ready' before its HTML is set again. */
  readyDeadlineMs?: number;
}

export const READY_DEADLINE_MS = 10000;
/** Re-renders in a row without a 'ready' before the controller gives up (and logs it). */
const MAX_RELOADS = 3;

export class PanelController implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  /** Sequence numbers: the page is ready when its last 'ready' came after the last (re)load or hide. */
  private seq = 0;
  private readySeq = -1;
  private loadSeq = 0;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private reloads = 0;
  private wasVisible = true;
  private root: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  private readonly renderEmitter = new vscode.EventEmitter<RenderedSummary>();
  /** The page reported what it has drawn (after redraws, at most 4 times a second). */
  readonly onDidRender = this.renderEmitter.event;
  /** What the page last reported having drawn. */
  rendered: RenderedSummary | undefined;

  constructor(private readonly o: PanelControllerOptions) {
    this.root = o.datasetRoot();
    if (o.panel) {
      this.panel = o.panel;
      this.panel.webview.options = this.webviewOptions();
      this.wasVisible = o.panel.visible;
    } else {
      this.panel = vscode.window.createWebviewPanel(viewType(o.kind), `Image Trainer: ${PANEL_TITLES[o.kind]}`, { viewColumn: o.column ?? vscode.ViewColumn.Beside, preserveFocus: true }, {
        ...this.webviewOptions(),
        // Panels restore from getState + the host's replay, so hidden ones need not stay alive.
        retainContextWhenHidden: false,
      });
    }
    this.panel.iconPath = vscode.Uri.joinPath(o.context.extensionUri, 'media', 'icon.svg');
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      this.panel.onDidChangeViewState(() => {
        // hidden: the page is destroyed; shown: it loads again and must say 'ready' in time
        if (this.panel.visible === this.wasVisible) return;
        this.wasVisible = this.panel.visible;
        this.loadSeq = ++this.seq;
        if (this.panel.visible) this.armDeadline();
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
    this.render();
  }

  private webviewOptions(): vscode.WebviewOptions {
    const roots = [vscode.Uri.joinPath(this.o.context.extensionUri, 'media')];
    if (this.root) roots.push(vscode.Uri.file(this.root));
    return { enableScripts: true, enableCommandUris: false, localResourceRoots: roots };
  }

  private render(): void {
    const webview = this.panel.webview;
    const media = vscode.Uri.joinPath(this.o.context.extensionUri, 'media');
    this.loadSeq = ++this.seq;
    webview.html = panelHtml({
      kind: this.o.kind,
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      mediaUri: (p) => webview.asWebviewUri(vscode.Uri.joinPath(media, ...p.split('/'))).toString(),
    });
    this.armDeadline();
  }

  /** After a (re)load or re-show: no 'ready' in time means a page that will never draw; load it again. */
  private armDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    const waitMs = this.deadlineMs();
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      if (this.isReady || !this.panel.visible || !this.disposables.length) return;
      if (++this.reloads > MAX_RELOADS) {
        this.o.log?.(`${this.o.kind} panel: the page did not report ready after ${MAX_RELOADS} reloads; close and reopen it`);
        return;
      }
      this.o.log?.(`${this.o.kind} panel: no 'ready' within ${waitMs} ms; loading the page again`);
      this.render();
    }, waitMs);
  }

  /** Doubles with each reload in a row: a page that is only slow to load (a busy machine) gets the time it needs. */
  private deadlineMs(): number {
    return (this.o.readyDeadlineMs ?? READY_DEADLINE_MS) * 2 ** this.reloads;
  }

  /** Call when the dataset folder may have changed: images load only from the current one. */
  refreshRoots(): void {
    const root = this.o.datasetRoot();
    if (root === this.root) return;
    this.root = root;
    this.panel.webview.options = this.webviewOptions();
    this.render(); // the page reloads, says 'ready' and gets the replay
  }

  /** A URI the page may load for an image file, or undefined when it is outside the dataset folder. */
  imageSrc(file: string): string | undefined {
    const root = this.root;
    if (!root || !isInsideRoot(file, root)) return undefined;
    return this.panel.webview.asWebviewUri(vscode.Uri.file(file)).toString();
  }

  post(message: HostMessage): void {
    if (this.isReady && this.panel.visible) void this.panel.webview.postMessage(message);
  }

  reveal(): void {
    this.panel.reveal(this.panel.viewColumn ?? this.o.column ?? vscode.ViewColumn.Beside, true);
  }

  private receive(raw: unknown): void {
    const ctx: IntentContext = { datasetRoot: this.o.datasetRoot(), classes: this.o.classes() };
    const result = validateWebviewMessage(raw, ctx);
    if (!result.ok) {
      this.o.log?.(`${this.o.kind} panel: ${result.error}`);
      void this.panel.webview.postMessage({ type: 'notice', level: 'error', message: result.error } satisfies HostMessage);
      return;
    }
    if (result.message.type === 'rendered') {
      this.rendered = result.message.summary;
      this.renderEmitter.fire(result.message.summary);
      return;
    }
    if (result.message.type === 'ready') {
      this.readySeq = ++this.seq;
      this.reloads = 0;
      for (const m of this.o.replay()) void this.panel.webview.postMessage(m);
      return;
    }
    this.o.onIntent(result.message, this.o.kind);
  }

  get isReady(): boolean {
    return this.readySeq > this.loadSeq;
  }

  dispose(): void {
    if (!this.disposables.length) return;
    if (this.deadline) clearTimeout(this.deadline);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    this.renderEmitter.dispose();
  }
}

/** The webview panel type of a kind (package.json activates on onWebviewPanel:<it> to restore panels). */
export function viewType(kind: PanelKind): string {
  return `imageTrainer.${kind}`;
}
