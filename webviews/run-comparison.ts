// Run comparison: two or more runs' loss curves (x in epochs, so runs with different batch counts
// line up) and their final metrics side by side.
import type uPlot from 'uplot';
import type { HostMessage, RunSummary } from '../src/protocol/webview';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { formatLrs } from '../src/protocol/lr';
import { fmtNum, fmtTime } from './common/format';
import { ThemedPlot, themedAxis } from './common/plot';
import { seriesPalette } from './common/theme';

export interface RunComparisonState {
  runs: RunSummary[];
}

/** Aligned data: x = epochs elapsed; per run a train-loss and a valid-loss series. */
export function comparisonData(runs: RunSummary[]): uPlot.AlignedData {
  const tables: [number[], (number | null)[]][] = [];
  for (const r of runs) {
    const bpe = r.batchesPerEpoch ?? Math.max(1, ...r.trainLoss.map(([s]) => s + 1)) / Math.max(1, r.epochs.length);
    tables.push([r.trainLoss.map(([s]) => (s + 1) / bpe), r.trainLoss.map(([, l]) => l)]);
    tables.push([r.epochs.map((e) => e.epoch + 1), r.epochs.map((e) => e.validLoss)]);
  }
  const xs = [...new Set(tables.flatMap(([x]) => x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const series = tables.map(([x, y]) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    x.forEach((v, i) => (col[index.get(v) as number] = y[i]));
    return col;
  });
  return [xs, ...series];
}

function createRunComparisonPanel(root: HTMLElement, ctx: PanelContext<RunComparisonState>): PanelView {
  const s = ctx.state;
  const plotDiv = h('div', { className: 'plot', 'data-testid': 'comparison-plot' });
  const tableBox = h('div', { 'data-testid': 'comparison-table' });
  root.append(h('h1', {}, 'Run comparison'), section('Loss (train smoothed, valid per epoch) by epoch', plotDiv), section('Final metrics', tableBox));

  let plot: ThemedPlot | null = null;
  let plotRuns = '';
  const drawPlot = () => {
    const key = s.runs.map((r) => r.runId).join('|');
    if (plot && key === plotRuns) return plot.setData(comparisonData(s.runs));
    plotRuns = key;
    plot?.plot.destroy();
    clear(plotDiv);
    if (!s.runs.length) return plotDiv.append(h('div', { className: 'empty' }, 'Compare Runs (the Runs view\'s title bar or the palette) lets you tick the runs to compare.'));
    plot = new ThemedPlot(
      plotDiv,
      (c) => {
        const colors = seriesPalette(c);
        return {
          scales: { x: { time: false } },
          axes: [themedAxis(c, { label: 'epoch' }), themedAxis(c, { label: 'loss', size: 55 })],
          series: [
            { label: 'epoch', value: (_u, v) => (v == null ? '—' : v.toFixed(2)) },
            ...s.runs.flatMap((r, i): uPlot.Series[] => [
              { label: `${r.label} train`, stroke: colors[i % colors.length], width: 2, spanGaps: true, value: (_u, v) => fmtNum(v, 4) },
              { label: `${r.label} valid`, stroke: colors[i % colors.length], width: 2, dash: [6, 4], spanGaps: true, points: { show: true, size: 7 }, value: (_u, v) => fmtNum(v, 4) },
            ]),
          ],
        };
      },
      comparisonData(s.runs),
      300,
    );
  };

  const drawTable = () => {
    clear(tableBox);
    if (!s.runs.length) return;
    const last = (r: RunSummary) => r.epochs[r.epochs.length - 1];
    const rows: [string, (r: RunSummary) => string, ((r: RunSummary) => number | null)?][] = [
      ['kind', (r) => r.kind],
      ['status', (r) => r.status ?? '—'],
      ['epochs', (r) => String(r.epochs.length)],
      ['max lr', (r) => (r.lrs?.length ? formatLrs(r.lrs) : '—')],
      ['train_loss', (r) => fmtNum(last(r)?.trainLoss), (r) => last(r)?.trainLoss ?? null],
      ['valid_loss', (r) => fmtNum(last(r)?.validLoss), (r) => last(r)?.validLoss ?? null],
      ['error_rate', (r) => fmtNum(last(r)?.errorRate), (r) => last(r)?.errorRate ?? null],
      ['time', (r) => fmtTime(r.epochs.reduce((a, e) => a + e.seconds, 0))],
    ];
    const tbody = h('tbody');
    for (const [name, text, value] of rows) {
      const vals = value ? s.runs.map(value) : [];
      const finite = vals.filter((v): v is number => v !== null && Number.isFinite(v));
      const best = finite.length > 1 ? Math.min(...finite) : null;
      tbody.append(h('tr', {}, h('td', {}, name), ...s.runs.map((r, i) => h('td', { className: vals[i] === best && best !== null ? 'best-cell' : '' }, text(r) + (vals[i] === best && best !== null ? ' ★' : '')))));
    }
    tableBox.append(h('table', { className: 'data', 'data-testid': 'metrics' }, h('thead', {}, h('tr', {}, h('th', {}, 'metric'), ...s.runs.map((r) => h('th', {}, r.label)))), tbody));
  };

  return {
    drawAll() {
      drawPlot();
      drawTable();
    },
    onMessage(m: HostMessage) {
      if (m.type !== 'runs') return false;
      s.runs = m.runs;
      return true;
    },
    summary: () => ({ runs: s.runs.length, labels: s.runs.map((r) => r.label).join(', ').slice(0, 256) }),
  };
}

bootstrap('runComparison', { empty: (): RunComparisonState => ({ runs: [] }), create: createRunComparisonPanel });
