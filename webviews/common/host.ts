// The page's link to the extension: VS Code's webview API when present, an in-memory stand-in
// in a plain page (tests, the CLI's HTML report), which records what would have been posted.
import type { HostMessage, WebviewMessage } from '../../src/protocol/webview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

export interface Host {
  post(message: WebviewMessage): void;
  getState<S>(): S | undefined;
  setState<S>(state: S): void;
}

declare global {
  interface Window {
    /** Plain-page stand-in: every message the page posted, in order. */
    __postedMessages?: unknown[];
  }
}

export function connectHost(): Host {
  const api: VsCodeApi =
    typeof acquireVsCodeApi === 'function'
      ? acquireVsCodeApi()
      : (() => {
          let saved: unknown;
          const posted = (window.__postedMessages ??= []);
          return { postMessage: (m) => posted.push(m), getState: () => saved, setState: (s) => (saved = s) };
        })();
  return {
    post: (m) => api.postMessage(m),
    getState: <S>() => api.getState() as S | undefined,
    setState: (s) => api.setState(s),
  };
}

/** Host messages are trusted, but a page must not die on a stray postMessage from elsewhere. */
export function isHostMessage(data: unknown): data is HostMessage {
  return typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
}
