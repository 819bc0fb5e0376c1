// One webview panel of a kind: created with the CSP page from html.ts, scripts enabled,
// localResourceRoots = [extension media, dataset folder], messages from the page validated before
// anything acts on them, host messages held back until the page says 'ready' and while hidden
// (a hidden webview is destroyed; on re-show it posts 'ready' again and gets a full replay).
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
}

export class PanelController implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private ready = false;
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
    this.panel = vscode.window.createWebviewPanel(`imageTrainer.${o.kind}`, `Image Trainer: ${PANEL_TITLES[o.kind]}`, { viewColumn: o.column ?? vscode.ViewColumn.Beside, preserveFocus: true }, {
      ...this.webviewOptions(),
      // Panels restore from getState + the host's replay, so hidden ones need not stay alive.
      retainContextWhenHidden: false,
    });
    this.panel.iconPath = vscode.Uri.joinPath(o.context.extensionUri, 'media', 'icon.svg');
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      this.panel.onDidChangeViewState(() => {
        if (!this.panel.visible) this.ready = false;
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
    this.ready = false;
    webview.html = panelHtml({
      kind: this.o.kind,
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      mediaUri: (p) => webview.asWebviewUri(vscode.Uri.joinPath(media, ...p.split('/'))).toString(),
    });
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
    if (this.ready && this.panel.visible) void this.panel.webview.postMessage(message);
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
      this.ready = true;
      for (const m of this.o.replay()) void this.panel.webview.postMessage(m);
      return;
    }
    this.o.onIntent(result.message, this.o.kind);
  }

  get isReady(): boolean {
    return this.ready;
  }

  dispose(): void {
    if (!this.disposables.length) return;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
    this.renderEmitter.dispose();
  }
}
