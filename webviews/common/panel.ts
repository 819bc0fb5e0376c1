// Shared start-up of every panel page: connect to the host, restore saved state, apply host
// messages, save state (debounced) so a hidden and re-shown panel looks the same, say 'ready'.
import type { HostMessage, RenderedSummary } from '../../src/protocol/webview';
import { connectHost, isHostMessage, type Host } from './host';
import { FrameScheduler } from './frame';
import './panels.css';

export interface PanelView<S> {
  /** Replace what is shown with this state (restored from getState, or data embedded in a report page). */
  render(state: S): void;
  /** Apply one host message incrementally. */
  onMessage(message: HostMessage): void;
  /** Plain-JSON state for setState / reports. */
  snapshot(): S;
  /** A few numbers about what is drawn, reported to the host (tests in a real VS Code read them). */
  summary?(): RenderedSummary;
}

export interface PanelContext {
  host: Host;
  frames: FrameScheduler;
  /** Call after any change worth keeping across hide/show. */
  stateChanged(): void;
}

export interface PanelHandle<S> {
  kind: string;
  view: PanelView<S>;
  /** Deliver a host message as VS Code would (tests and reports). */
  dispatch(message: HostMessage): void;
  /** Flush pending redraws now. */
  flush(): void;
}

declare global {
  interface Window {
    imageTrainerPanel?: PanelHandle<unknown>;
  }
}

interface Saved<S> {
  kind: string;
  state: S;
}

export function bootstrap<S>(kind: string, create: (root: HTMLElement, ctx: PanelContext) => PanelView<S>): PanelHandle<S> {
  const host = connectHost();
  const frames = new FrameScheduler();
  const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('main'));
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    saveTimer = undefined;
    host.setState<Saved<S>>({ kind, state: view.snapshot() });
  };
  const ctx: PanelContext = {
    host,
    frames,
    stateChanged: () => {
      saveTimer ??= setTimeout(save, 400);
    },
  };
  const view = create(root, ctx);

  const dispatch = (message: HostMessage) => {
    view.onMessage(message);
    ctx.stateChanged();
  };
  // A plain page (HTML report) carries its data: a panel state, or host messages to apply in order.
  const saved = host.getState<Saved<S>>();
  const embedded = document.getElementById('initial-state')?.textContent;
  const embeddedMessages = document.getElementById('initial-messages')?.textContent;
  if (saved && saved.kind === kind) view.render(saved.state);
  else if (embedded) view.render(JSON.parse(embedded) as S);
  if (!saved && embeddedMessages) for (const m of JSON.parse(embeddedMessages) as unknown[]) if (isHostMessage(m)) dispatch(m);
  window.addEventListener('message', (e: MessageEvent) => {
    if (isHostMessage(e.data)) dispatch(e.data);
  });
  // VS Code fires no event on hide; save on visibility change so nothing recent is lost.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') save();
  });
  // Report what is drawn after redraws, at most every 250 ms and only when it changed.
  let lastSummary = '';
  let summaryTimer: ReturnType<typeof setTimeout> | undefined;
  const reportSummary = () => {
    summaryTimer = undefined;
    const summary = view.summary?.();
    const text = JSON.stringify(summary ?? null);
    if (summary && text !== lastSummary) {
      lastSummary = text;
      host.post({ type: 'rendered', summary });
    }
  };
  frames.onFlushed = () => {
    summaryTimer ??= setTimeout(reportSummary, 250);
  };
  const handle: PanelHandle<S> = { kind, view, dispatch, flush: () => frames.flush() };
  window.imageTrainerPanel = handle as PanelHandle<unknown>;
  host.post({ type: 'ready' });
  reportSummary();
  return handle;
}
