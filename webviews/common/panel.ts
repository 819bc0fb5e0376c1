// The one start-up of every panel page. A page declares its state (empty, what a reset keeps, how a
// saved state is read back) and draws it; this owns the rest, the same for every page: the state
// object itself, restoring it from getState (or from the data a report page embeds), saving it
// (debounced, and when the page is hidden) so a re-shown panel looks the same, validating host
// messages, 'reset', the 'ready' handshake and the 'rendered' summaries tests read.
import type { TrainerEvent } from '../../src/protocol/events';
import type { HostMessage, RenderedSummary } from '../../src/protocol/webview';
import { connectHost, isHostMessage, type Host } from './host';
import { FrameScheduler } from './frame';
import { h } from './dom';
import './panels.css';

export interface PanelContext<S> {
  host: Host;
  frames: FrameScheduler;
  /**
   * The page's state: one object for the page's whole life (a reset or a restore refills it in
   * place), so a page may keep it in a const and mutate it.
   */
  readonly state: S;
  /** Call after any change worth keeping across hide/show. */
  stateChanged(): void;
  /** Redraw everything at the next frame. */
  redrawAll(): void;
}

export interface PanelView {
  /** Draw everything from the state (at start, after a restore and after a reset). */
  drawAll(): void;
  /**
   * Apply one host message ('reset' never comes here, nor 'events' when the page has onEvent).
   * Return true to have everything redrawn at the next frame; a page that schedules its own
   * redraws returns nothing.
   */
  onMessage?(message: HostMessage): boolean | void;
  /** Apply one trainer event of an 'events' message, in order (the page schedules its redraws). */
  onEvent?(event: TrainerEvent): void;
  /** A few numbers about what is drawn, reported to the host (tests in a real VS Code read them). */
  summary?(): RenderedSummary;
}

export interface PanelSpec<S extends object> {
  /** The state of a page with nothing to show. */
  empty(): S;
  /** What a 'reset' keeps (the person's view choices, not the data). */
  keepOnReset?(state: S): Partial<S>;
  /**
   * A saved (getState) or embedded state as this build's state; by default the saved fields over
   * an empty state. A state saved by an older build may lack fields or have other shapes.
   */
  restore?(saved: Partial<S>): S;
  /** Builds the page's DOM in root; called once, before anything is drawn. */
  create(root: HTMLElement, ctx: PanelContext<S>): PanelView;
}

export interface PanelHandle<S> {
  kind: string;
  view: { snapshot(): S; summary?(): RenderedSummary };
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

interface Notice {
  level: 'info' | 'warn' | 'error';
  message: string;
}

interface Saved<S> {
  kind: string;
  state: S;
  /** The host's last notice, until the person dismisses it or another replaces it. */
  notice?: Notice;
}

/** Replaces what `target` holds with `next`'s fields, keeping the object. */
function refill<S extends object>(target: S, next: S): void {
  for (const key of Object.keys(target)) delete (target as Record<string, unknown>)[key];
  Object.assign(target, next);
}

export function bootstrap<S extends object>(kind: string, spec: PanelSpec<S>): PanelHandle<S> {
  const host = connectHost();
  const frames = new FrameScheduler();
  const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('main'));
  const state = spec.empty();
  // Host notices (a failed intent, a Grad-CAM that cannot localise) are the same on every page:
  // one line above the page's own content, kept across hide/show, dismissed by the person.
  const noticeBox = document.createElement('div');
  noticeBox.dataset.testid = 'notice';
  root.before(noticeBox);
  let notice: Notice | undefined;
  const restore = spec.restore ?? ((saved: Partial<S>) => ({ ...spec.empty(), ...saved }));
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    host.setState<Saved<S>>({ kind, state, ...(notice ? { notice } : {}) });
  };
  const stateChanged = () => {
    saveTimer ??= setTimeout(save, 400);
  };
  const showNotice = (next: Notice | undefined) => {
    notice = next;
    noticeBox.replaceChildren();
    if (!next) return;
    const dismiss = h('button', { className: 'dismiss', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
    dismiss.addEventListener('click', () => {
      showNotice(undefined);
      stateChanged();
    });
    noticeBox.append(h('div', { className: `notice ${next.level}`, role: next.level === 'error' ? 'alert' : 'status' }, next.message, dismiss));
  };
  const ctx: PanelContext<S> = { host, frames, state, stateChanged, redrawAll: () => frames.schedule('all', view.drawAll) };
  const view = spec.create(root, ctx);

  const render = (saved: Partial<S>) => {
    refill(state, restore(saved ?? {}));
    view.drawAll();
  };
  const dispatch = (message: HostMessage) => {
    if (message.type === 'reset') {
      refill(state, { ...spec.empty(), ...spec.keepOnReset?.(state) });
      ctx.redrawAll();
    } else if (message.type === 'notice') showNotice({ level: message.level, message: message.message });
    else if (message.type === 'events' && view.onEvent) message.events.forEach(view.onEvent);
    else if (view.onMessage?.(message) === true) ctx.redrawAll();
    stateChanged();
  };

  view.drawAll();
  // A plain page (HTML report) carries its data: a panel state, or host messages to apply in order.
  const saved = host.getState<Saved<S>>();
  const embedded = document.getElementById('initial-state')?.textContent;
  const embeddedMessages = document.getElementById('initial-messages')?.textContent;
  if (saved && saved.kind === kind) {
    render(saved.state);
    if (saved.notice) showNotice(saved.notice);
  }
  else if (embedded) render(JSON.parse(embedded) as Partial<S>);
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
  const handle: PanelHandle<S> = { kind, view: { snapshot: () => state, summary: view.summary }, dispatch, flush: () => frames.flush() };
  window.imageTrainerPanel = handle as PanelHandle<unknown>;
  host.post({ type: 'ready' });
  reportSummary();
  return handle;
}
