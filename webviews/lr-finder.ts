// LR finder panel (learn.lr_find(); learn.recorder.plot()): smoothed loss against lr on a log
// axis, drawn live from the sweep's batch events, with the min-gradient and valley suggestions.
// Click a point or a suggestion → setMaxLr(lr); drag a range → setMaxLr({start, stop}) (a slice).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type uPlot from 'uplot';
import type { TrainerEvent } from '../src/protocol/events';
import { beginRun, reduceRun, type RunState } from '../src/protocol/run-reducer';
import type { HostMessage } from '../src/protocol/webview';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { formatLr, formatLrValue, type LrSpec } from '../src/protocol/lr';
import { fmtNum } from './common/format';
import { ThemedPlot, themedAxis } from './common/plot';
import { plotColors } from './common/theme';

export interface LrFinderState {
  /** The sweep shown, folded by the protocol's run reducer (with per-batch curves). */
  run: RunState | null;
  chosen: LrSpec | null;
  /** What the host says the next Fit One Cycle uses (the same value as its prompt and the sidebar). */
  next?: { lr: LrSpec; source: string } | null;
}

const empty = (): LrFinderState => ({ run: null, chosen: null });

/**
 * The plotted curve [lrs, smoothed losses]: live from the batches (lr of the last group), replaced
 * by the result's (skip_start/skip_end trimmed, as recorder.plot) when the sweep ends.
 */
export function lrCurve(run: RunState | null): { lrs: number[]; losses: number[]; final: boolean } {
  if (run?.lrFind) return { lrs: run.lrFind.lrs, losses: run.lrFind.losses, final: true };
  return { lrs: run?.curves?.lr ?? [], losses: run?.curves?.smoothLoss ?? [], final: false };
}

/** Loss at lr, interpolated on the log-lr axis (suggestion markers sit on the curve). */
export function lossAt(lrs: number[], losses: number[], lr: number): number | null {
  if (!lrs.length) return null;
  const x = Math.log(lr);
  for (let i = 1; i < lrs.length; i++) {
    const a = Math.log(lrs[i - 1]);
    const b = Math.log(lrs[i]);
    if (x >= a && x <= b) return b === a ? losses[i] : losses[i - 1] + ((x - a) / (b - a)) * (losses[i] - losses[i - 1]);
  }
  return x < Math.log(lrs[0]) ? losses[0] : losses[losses.length - 1];
}

/** Keeps only powers of ten among an axis' splits (uPlot's log axis otherwise marks 2e-5, 3e-5, …). */
const decades = (_u: uPlot, splits: number[]) => splits.map((v) => (v != null && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-6 ? v : null));


function createLrFinderPanel(root: HTMLElement, ctx: PanelContext<LrFinderState>): PanelView {
  const s = ctx.state;
  const curve = () => lrCurve(s.run);
  const status = () => s.run?.status ?? 'idle';
  const statusLine = h('div', { className: 'muted', 'data-testid': 'status' });
  const suggestionBox = h('div', { className: 'suggestions', 'data-testid': 'suggestions' });
  const chosenBox = h('div', { 'data-testid': 'chosen' });
  const plotDiv = h('div', { className: 'plot', 'data-testid': 'lr-plot' });
  root.append(
    h('h1', {}, 'Learning rate finder'),
    statusLine,
    section(
      'Loss (smoothed) against learning rate',
      h('p', { className: 'muted' }, 'Click a point to use that learning rate as max lr for the next Fit One Cycle; drag across a range to use it as slice(start, stop).'),
      plotDiv,
    ),
    section('Suggestions', suggestionBox, chosenBox),
  );

  const choose = (lr: LrSpec) => {
    s.chosen = lr;
    s.next = { lr, source: 'picked on the LR-finder plot' }; // the host confirms with nextLr
    ctx.host.post({ type: 'setMaxLr', lr });
    drawChosen();
    ctx.stateChanged();
  };

  const markers: uPlot.Plugin = {
    hooks: {
      draw: (u) => {
        u.root.parentElement?.setAttribute('data-points', String(u.data[0].length));
        const suggestions = s.run?.lrFind?.suggestions;
        if (!suggestions) return u.root.parentElement?.setAttribute('data-markers', '[]');
        const { lrs, losses } = curve();
        const drawn: { name: string; lr: number; loss: number; x: number; y: number }[] = [];
        const c = plotColors();
        const g = u.ctx;
        const items: [string, number | null, string][] = [
          ['min grad', suggestions.minGrad, c.red],
          ['valley', suggestions.valley, c.green],
        ];
        g.save();
        g.font = c.font;
        // labels get a halo of the card's background so the curve under them does not make them unreadable
        const bg = (el: Element | null) => (el ? getComputedStyle(el).backgroundColor : '');
        const halo = [bg(u.root.closest('.card')), bg(document.body)].find((x) => x && x !== 'rgba(0, 0, 0, 0)' && x !== 'transparent');
        items.forEach(([name, lr, color], k) => {
          if (lr === null) return;
          const y = lossAt(lrs, losses, lr);
          if (y === null) return;
          const px = u.valToPos(lr, 'x', true);
          const py = u.valToPos(y, 'y', true);
          g.fillStyle = color;
          g.strokeStyle = color;
          g.beginPath();
          g.arc(px, py, 6 * devicePixelRatio, 0, 2 * Math.PI);
          g.fill();
          g.setLineDash([4, 4]);
          g.beginPath();
          g.moveTo(px, u.bbox.top);
          g.lineTo(px, u.bbox.top + u.bbox.height);
          g.stroke();
          g.setLineDash([]);
          // Min-gradient label above its dot, valley below, so close suggestions stay readable.
          g.textAlign = k === 0 ? 'left' : 'right';
          const label = `${name} ${formatLrValue(lr)}`;
          const lx = px + (k === 0 ? 9 : -9) * devicePixelRatio;
          const ly = py + (k === 0 ? -10 : 20) * devicePixelRatio;
          if (halo) {
            g.save();
            g.lineWidth = 4 * devicePixelRatio;
            g.lineJoin = 'round';
            g.strokeStyle = halo;
            g.strokeText(label, lx, ly);
            g.restore();
          }
          g.fillText(label, lx, ly);
          drawn.push({ name, lr, loss: y, x: u.valToPos(lr, 'x'), y: u.valToPos(y, 'y') });
        });
        g.restore();
        // Exposed for tests and assistive tech: the markers, in CSS pixels from the plotting area's corner.
        u.root.parentElement?.setAttribute('data-markers', JSON.stringify(drawn));
      },
    },
  };

  let downAt: { x: number; y: number } | null = null;
  const interactions: uPlot.Plugin = {
    hooks: {
      ready: (u) => {
        u.over.addEventListener('mousedown', (e) => (downAt = { x: e.clientX, y: e.clientY }));
        u.over.addEventListener('click', (e) => {
          const moved = downAt ? Math.hypot(e.clientX - downAt.x, e.clientY - downAt.y) : 0;
          downAt = null;
          if (moved > 3) return; // a drag: setSelect handles it
          const idx = u.cursor.idx;
          if (idx === null || idx === undefined) return;
          const lr = (u.data[0] as number[])[idx];
          if (lr > 0) choose(lr);
        });
      },
      setSelect: (u) => {
        if (u.select.width < 4) return;
        const a = u.posToVal(u.select.left, 'x');
        const b = u.posToVal(u.select.left + u.select.width, 'x');
        if (a > 0 && b > a) choose({ start: +a.toPrecision(3), stop: +b.toPrecision(3) });
      },
    },
  };

  const plot = new ThemedPlot(
    plotDiv,
    (c) => ({
      scales: {
        x: { time: false, distr: 3 },
        // Like recorder.plot's skip_end=5: the divergent tail must not flatten the interesting part.
        y: {
          range: (u, min, max) => {
            const ys = (u.data[1] as number[]).slice(0, Math.max(1, u.data[1].length - 5)).filter(Number.isFinite);
            const top = ys.length > 10 ? Math.min(max, Math.max(...ys)) : max;
            const pad = (top - min) * 0.05 || 0.1;
            return [min - pad, top + pad];
          },
        },
      },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 8 } },
      axes: [
        themedAxis(c, {
          label: 'learning rate (log scale)',
          // Decades only: labels, ticks and grid at 1e-7, 1e-6, …
          filter: decades,
          grid: { stroke: c.grid, width: 1, filter: decades },
          ticks: { stroke: c.grid, width: 1, filter: decades },
          values: (_u, vals) => vals.map((v) => (v == null ? '' : v.toExponential(0))),
        }),
        themedAxis(c, { label: 'loss', size: 55 }),
      ],
      series: [{ label: 'lr', value: (_u, v) => formatLrValue(v) }, { label: 'smoothed loss', stroke: c.blue, width: 2, points: { show: false }, value: (_u, v) => fmtNum(v, 4) }],
      plugins: [markers, interactions],
    }),
    [[], []],
    300,
  );

  const drawChosen = () => {
    clear(chosenBox);
    const next = s.next ?? (s.chosen === null ? null : { lr: s.chosen, source: 'picked on the LR-finder plot' });
    chosenBox.append(
      next === null
        ? h('span', { className: 'muted' }, 'No max lr chosen yet.')
        : h(
            'span',
            {},
            'Max lr for the next Fit One Cycle: ',
            h('span', { className: 'chosen', 'data-testid': 'chosen-value' }, formatLr(next.lr)),
            h('span', { className: 'muted', 'data-testid': 'chosen-source' }, ` (${next.source})`),
          ),
    );
  };

  const drawHeader = () => {
    const { lrs, final } = curve();
    const st = status();
    statusLine.textContent =
      st === 'idle'
        ? 'Run Find Learning Rate to sweep the learning rate from 1e-7 to 10.'
        : st === 'running'
          ? `Sweeping… ${lrs.length} batches, lr ${formatLrValue(lrs[lrs.length - 1])}`
          : st === 'failed'
            ? `failed: ${s.run?.error ?? 'unknown error'}`
            : `${st}: ${lrs.length} points${final ? '; the last 5 may run off the top, as in recorder.plot' : ''}`;
    clear(suggestionBox);
    const sug = s.run?.lrFind?.suggestions;
    if (!sug) {
      suggestionBox.append(h('span', { className: 'muted' }, st === 'running' ? 'Suggestions appear when the sweep ends.' : 'No suggestions yet.'));
      return;
    }
    for (const [key, name] of [['minGrad', 'Min gradient'], ['valley', 'Valley']] as const) {
      const lr = sug[key];
      const b = h('vscode-button', { 'data-testid': `suggestion-${key}`, secondary: key !== 'valley', disabled: lr === null }, `${name}: ${formatLrValue(lr)}`);
      if (lr !== null) b.addEventListener('click', () => choose(lr));
      suggestionBox.append(b);
    }
  };

  const drawPlot = () => {
    const { lrs, losses } = curve();
    plot.setData([lrs, losses]);
  };

  return {
    onEvent(e: TrainerEvent) {
      if (e.type === 'fit_begin') {
        if (e.kind !== 'lr_find' || s.run?.runId === e.runId) return; // a replayed fit_begin keeps what was drawn
        s.run = beginRun(e, { curves: true });
      } else if (!s.run || !reduceRun(s.run, e).header) return;
      ctx.frames.schedule('plot', drawPlot);
      ctx.frames.schedule('header', drawHeader);
    },
    drawAll() {
      drawHeader();
      drawChosen();
      drawPlot();
    },
    onMessage(m: HostMessage) {
      if (m.type !== 'nextLr') return;
      s.next = { lr: m.lr, source: m.source };
      s.chosen = m.source.startsWith('picked') ? m.lr : null;
      ctx.frames.schedule('chosen', drawChosen);
    },
    summary: () => {
      const { lrs, final } = curve();
      const sug = s.run?.lrFind?.suggestions;
      return { runId: s.run?.runId ?? null, status: status(), points: lrs.length, final, minGrad: sug?.minGrad ?? null, valley: sug?.valley ?? null };
    },
  };
}

bootstrap('lrFinder', {
  empty,
  keepOnReset: (s) => ({ chosen: s.chosen, next: s.next }),
  // A state saved by an older build (no reduced run with curves) keeps only the chosen lr.
  restore: (saved) => ({ run: saved.run?.curves ? saved.run : null, chosen: saved.chosen ?? null, next: saved.next }),
  create: createLrFinderPanel,
});
