// The HTML shell of every panel page. No `vscode` import: the same page is built for VS Code
// webviews (cspSource and URIs from the webview), for browser tests and for HTML reports.
import { randomBytes } from 'node:crypto';
import type { HostMessage, PanelKind } from '../../protocol/webview';

/** Bundle base name (media/webviews/<name>.js/.css) per panel. */
export const PANEL_BUNDLES: Record<PanelKind, string> = {
  dataset: 'dataset',
  lrFinder: 'lr-finder',
  training: 'training',
  interpretation: 'interpretation',
  runComparison: 'run-comparison',
};

export const PANEL_TITLES: Record<PanelKind, string> = {
  dataset: 'Dataset',
  lrFinder: 'Learning Rate Finder',
  training: 'Training',
  interpretation: 'Interpretation',
  runComparison: 'Run Comparison',
};

export interface PanelHtmlOptions {
  kind: PanelKind;
  /** webview.cspSource (or the test server's origin). */
  cspSource: string;
  /** Maps a path under media/ (e.g. 'webviews/training.js') to a URI the page can load. */
  mediaUri: (relativePath: string) => string;
  nonce?: string;
  title?: string;
  /** Plain pages only: include theme-fallback.css so the --vscode-* variables have values. */
  themeFallback?: boolean;
  /** Plain pages only: VS Code sets the body class itself. */
  bodyClass?: 'vscode-light' | 'vscode-dark' | 'vscode-high-contrast';
  /** Data rendered before any message arrives (HTML reports): a panel state… */
  initialState?: unknown;
  /** …or host messages applied in order, e.g. [{type:'events', events}] or [{type:'interpretation', data}]. */
  initialMessages?: HostMessage[];
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// JSON inside <script type="application/json">: only '<' can end the element early.
const escapeJsonForScript = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * Content-Security-Policy of every panel: nothing by default; scripts only with the page's nonce;
 * styles, images and fonts only from the webview's own resource origin (images also as data:).
 * No 'unsafe-inline': uPlot styles elements through the CSSOM and @vscode-elements uses
 * constructable stylesheets, neither of which CSP blocks.
 */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function panelHtml(o: PanelHtmlOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const bundle = PANEL_BUNDLES[o.kind];
  const title = o.title ?? PANEL_TITLES[o.kind];
  const css = (p: string, id?: string) => `<link rel="stylesheet" ${id ? `id="${id}" ` : ''}href="${escapeHtml(o.mediaUri(p))}">`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(panelCsp(o.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
${css('webviews/codicons/codicon.css', 'vscode-codicon-stylesheet')}
${o.themeFallback ? css('webviews/theme-fallback.css') : ''}
${css(`webviews/${bundle}.css`)}
</head>
<body${o.bodyClass ? ` class="${o.bodyClass}"` : ''} data-panel="${o.kind}">
<main id="root"></main>
${o.initialState === undefined ? '' : `<script type="application/json" id="initial-state">${escapeJsonForScript(o.initialState)}</script>`}
${o.initialMessages === undefined ? '' : `<script type="application/json" id="initial-messages">${escapeJsonForScript(o.initialMessages)}</script>`}
<script nonce="${nonce}" src="${escapeHtml(o.mediaUri(`webviews/${bundle}.js`))}"></script>
</body>
</html>
`;
}
