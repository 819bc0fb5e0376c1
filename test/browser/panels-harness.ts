// Serves the panel bundles in plain pages built by the same panelHtml() the extension uses
// (same CSP, with the server's origin standing in for webview.cspSource), and opens them in
// Debian's chromium with a fake acquireVsCodeApi that records posted messages and keeps
// setState() across reloads (as VS Code keeps it across hide/show).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { listenLocal } from '../helpers/local-server';
import { panelHtml } from '../../src/extension/panels/html';
import type { PanelKind, HostMessage } from '../../src/protocol/webview';
import type { TrainerEvent } from '../../src/protocol/events';

type PanelWindow = Window & { imageTrainerPanel?: { flush(): void; view: { snapshot(): unknown } } };

export const REPO = path.resolve(__dirname, '../../..');
export const OUTPUT = path.join(REPO, '.test-output', 'panels');
export type Theme = 'vscode-light' | 'vscode-dark' | 'vscode-high-contrast';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.ttf': 'font/ttf', '.map': 'application/json', '.html': 'text/html' };
const SERVED = ['media/', 'test/fixtures/events/', '.test-output/panels/'];

export interface PanelServer {
  origin: string;
  /** URL of a served repository file (as asWebviewUri would give). */
  src(relativePath: string): string;
  close(): Promise<void>;
}

/** Pages served at /report/<name>: a panel kind plus embedded host messages (HTML-report style). */
export const reports = new Map<string, { kind: PanelKind; messages: HostMessage[] }>();

export async function startServer(): Promise<PanelServer> {
  let origin = '';
  const local = await listenLocal((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const page = /^\/panel\/(\w+)$/.exec(url.pathname);
    if (page) {
      const html = panelHtml({
        kind: page[1] as PanelKind,
        cspSource: origin,
        mediaUri: (p) => `${origin}/media/${p}`,
        themeFallback: true,
        bodyClass: (url.searchParams.get('theme') as Theme) ?? 'vscode-dark',
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const report = /^\/report\/([\w-]+)$/.exec(url.pathname);
    if (report && reports.has(report[1])) {
      const r = reports.get(report[1]) as { kind: PanelKind; messages: HostMessage[] };
      const html = panelHtml({ kind: r.kind, cspSource: origin, mediaUri: (p) => `${origin}/media/${p}`, themeFallback: true, bodyClass: 'vscode-light', initialMessages: r.messages });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = path.resolve(REPO, rel);
    if (!SERVED.some((p) => rel.startsWith(p)) || !file.startsWith(REPO + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  origin = local.origin;
  return {
    origin,
    src: (p) => `${origin}/${p.split(path.sep).map(encodeURIComponent).join('/')}`,
    close: local.close,
  };
}

export const launch = launchChromium;

export interface PanelPage {
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  send(message: HostMessage): Promise<void>;
  sendEvents(events: TrainerEvent[]): Promise<void>;
  /** Messages the page posted to the host, in order. */
  posted(): Promise<{ type: string; [k: string]: unknown }[]>;
  /** Run pending animation-frame redraws now. */
  flush(): Promise<void>;
  snapshot<S>(): Promise<S>;
  screenshot(name: string): Promise<string>;
  setTheme(theme: Theme): Promise<void>;
}

const FAKE_VSCODE_API = () => {
  const w = window as unknown as Record<string, unknown>;
  const posted: unknown[] = [];
  w.__posted = posted;
  w.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => (w.__cspViolations as string[]).push(`${e.violatedDirective} ${e.blockedURI}`));
  let acquired = false;
  w.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may only be called once');
    acquired = true;
    return {
      postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => {
        const s = sessionStorage.getItem('vscode-state');
        return s ? JSON.parse(s) : undefined;
      },
      setState: (s: unknown) => sessionStorage.setItem('vscode-state', JSON.stringify(s)),
    };
  };
};

export async function openPanel(browser: Browser, server: PanelServer, kind: PanelKind, theme: Theme = 'vscode-dark'): Promise<PanelPage> {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript(FAKE_VSCODE_API);
  await page.goto(`${server.origin}/panel/${kind}?theme=${theme}`);
  await page.waitForFunction(() => !!(window as PanelWindow).imageTrainerPanel);
  const pp: PanelPage = {
    page,
    problems,
    send: async (message) => {
      await page.evaluate((m) => window.postMessage(m, '*'), message);
      await page.evaluate(() => new Promise((r) => setTimeout(r, 0))); // let the message event run
    },
    sendEvents: (events) => pp.send({ type: 'events', events }),
    posted: () => page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted),
    flush: () => page.evaluate(() => (window as PanelWindow).imageTrainerPanel?.flush()),
    snapshot: <S>() => page.evaluate(() => (window as PanelWindow).imageTrainerPanel?.view.snapshot()) as Promise<S>,
    screenshot: async (name) => {
      fs.mkdirSync(OUTPUT, { recursive: true });
      const file = path.join(OUTPUT, `${name}.png`);
      await pp.flush();
      await page.evaluate(() => document.fonts.ready);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    setTheme: async (t) => {
      await page.evaluate((cls) => (document.body.className = cls), t);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
    },
  };
  return pp;
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations ?? []);
}

export function readJsonl<T = TrainerEvent>(name: string): T[] {
  return fs
    .readFileSync(path.join(REPO, 'test/fixtures/events', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}
