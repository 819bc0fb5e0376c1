// Interpretation panel (ClassificationInterpretation + ImageClassifierCleaner): confusion matrix
// heatmap (counts or row-normalised), click a cell → its images; most_confused(min_val);
// plot_top_losses with "predicted/actual/loss/probability" titles and a Grad-CAM toggle; the
// classification report (sklearn's, as print_classification_report); show_results; Relabel/Delete on each image, with Undo.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { ConfusedPair, ReportRow } from '../src/protocol/interpretation';
import { classificationReport } from '../src/protocol/classification-report';
import type { CleanerChange, HostMessage, InterpItem, InterpretationData } from '../src/protocol/webview';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { baseName, fmtNum, fmtPct } from './common/format';

export interface InterpretationState {
  data: InterpretationData | null;
  normalized: boolean;
  minCount: number;
  topK: number;
  gradCam: boolean;
  selected: [number, number] | null;
  /** Cell items received from the host (when the data carried no `items`), by "a,p". */
  cells: Record<string, InterpItem[]>;
  /** Grad-CAM overlay src by file (host answers to toggleGradCam). */
  gradCams: Record<string, string>;
  changes: CleanerChange[];
}

const empty = (): InterpretationState => ({ data: null, normalized: false, minCount: 1, topK: 9, gradCam: false, selected: null, cells: {}, gradCams: {}, changes: [] });

/** most_confused(min_val): off-diagonal cells ≥ minCount, count desc, ties in row-major order. */
export function mostConfused(classes: readonly string[], confusion: readonly (readonly number[])[], minCount: number): ConfusedPair[] {
  const out: ConfusedPair[] = [];
  confusion.forEach((row, a) =>
    row.forEach((count, p) => {
      if (a !== p && count > 0 && count >= minCount) out.push({ actual: classes[a], predicted: classes[p], count });
    }),
  );
  return out.sort((x, y) => y.count - x.count);
}

function createInterpretationPanel(root: HTMLElement, ctx: PanelContext<InterpretationState>): PanelView {
  const s = ctx.state;
  const summary = h('div', { className: 'muted', 'data-testid': 'summary' });
  const undoButton = h('vscode-button', { icon: 'discard', secondary: true, disabled: true, 'data-testid': 'undo' }, 'Undo');
  const changesText = h('span', { className: 'muted', 'data-testid': 'changes' });
  const normToggle = h('vscode-checkbox', { label: 'Normalise rows', 'data-testid': 'normalize' }) as HTMLElement & { checked: boolean };
  const matrixBox = h('div', { 'data-testid': 'confusion' });
  const cellBox = h('div', { 'data-testid': 'cell-items' });
  const minInput = h('input', { type: 'number', min: 1, value: 1, 'aria-label': 'minimum count', 'data-testid': 'min-count' }) as HTMLInputElement;
  const confusedBox = h('div', { 'data-testid': 'most-confused' });
  const topSelect = h('select', { 'aria-label': 'top losses count', 'data-testid': 'top-k' }, ...[9, 16, 25].map((k) => h('option', { value: k }, String(k))));
  const camToggle = h('vscode-checkbox', { label: 'Grad-CAM heatmap', 'data-testid': 'gradcam' }) as HTMLElement & { checked: boolean };
  const topBox = h('div', { className: 'grid', 'data-testid': 'top-losses' });
  const metricsBox = h('div', { 'data-testid': 'per-class' });
  const resultsBox = h('div', { className: 'grid', 'data-testid': 'show-results' });

  undoButton.addEventListener('click', () => {
    if (!s.changes.length) return;
    s.changes = s.changes.slice(0, -1); // optimistic; the host's 'cleaner' message is authoritative
    ctx.host.post({ type: 'undo' });
    redrawImages();
  });
  normToggle.addEventListener('change', () => {
    s.normalized = normToggle.checked;
    drawMatrix();
    ctx.stateChanged();
  });
  minInput.addEventListener('input', () => {
    const v = Math.max(1, Math.floor(Number(minInput.value) || 1));
    s.minCount = v;
    drawConfused();
    ctx.stateChanged();
  });
  topSelect.addEventListener('change', () => {
    s.topK = Number(topSelect.value);
    drawTop();
    ctx.stateChanged();
  });
  camToggle.addEventListener('change', () => {
    s.gradCam = camToggle.checked;
    const files = topItems().filter((it) => !it.gradCam && !s.gradCams[it.file]).map((it) => it.file);
    ctx.host.post({ type: 'toggleGradCam', enabled: s.gradCam, files: s.gradCam ? files : undefined });
    drawTop();
    ctx.stateChanged();
  });

  root.append(
    h('div', { className: 'row' }, h('h1', {}, 'Interpretation'), h('span', { className: 'grow' }), changesText, undoButton),
    summary,
    h(
      'div',
      { className: 'columns' },
      section('Confusion matrix', h('div', { className: 'toolbar' }, normToggle), matrixBox),
      section('Most confused', h('div', { className: 'toolbar' }, h('label', {}, 'min count ', minInput)), confusedBox),
    ),
    section('Selected cell', h('p', { className: 'legend muted', 'data-testid': 'cell-legend' }, 'Each title: prediction / actual / loss / probability of the actual class (as plot_top_losses).'), cellBox),
    section(
      'Top losses',
      h('div', { className: 'toolbar' }, h('label', {}, 'show ', topSelect), camToggle),
      h('p', { className: 'legend muted', 'data-testid': 'top-losses-legend' }, 'Each title: prediction / actual / loss / probability of the actual class (as plot_top_losses); red when the prediction is wrong.'),
      topBox,
    ),
    h(
      'div',
      { className: 'columns' },
      section('Classification report', metricsBox),
      section(
        'show_results',
        h('p', { className: 'legend muted', 'data-testid': 'show-results-legend' }, 'Each title: actual / predicted; ', h('span', { className: 'right' }, 'green'), ' when right, ', h('span', { className: 'wrong' }, 'red'), ' when wrong.'),
        resultsBox,
      ),
    ),
  );

  const cls = (i: number) => s.data?.classes[i] ?? String(i);
  const changeOf = (file: string) => {
    for (let i = s.changes.length - 1; i >= 0; i--) if (s.changes[i].file === file) return s.changes[i];
    return undefined;
  };
  const topItems = () => (s.data?.topLosses ?? []).slice(0, s.topK);

  /** One image with a title and the cleaner's actions. */
  /** `marksRight`: show_results colours right titles green too (top losses mark only the wrong ones). */
  const tile = (it: InterpItem, title: string, wrong: boolean, gradCam = false, marksRight = false): HTMLElement => {
    const change = changeOf(it.file);
    const camSrc = gradCam ? (it.gradCam ?? s.gradCams[it.file]) : undefined;
    const select = h('select', { 'aria-label': 'new label', 'data-testid': 'relabel-select' }, ...(s.data?.classes ?? []).map((c) => h('option', { value: c }, c))) as HTMLSelectElement;
    select.value = change?.newLabel ?? cls(it.actual);
    const relabel = h('vscode-button', { 'icon-only': true, icon: 'edit', title: 'Relabel as the selected class', 'aria-label': 'Relabel', 'data-testid': 'relabel' });
    const del = h('vscode-button', { 'icon-only': true, icon: 'trash', secondary: true, title: 'Delete this file (to the trash)', 'aria-label': 'Delete', 'data-testid': 'delete' });
    relabel.addEventListener('click', () => {
      const newLabel = select.value;
      s.changes = [...s.changes, { file: it.file, action: 'relabel', newLabel }];
      ctx.host.post({ type: 'relabel', file: it.file, newLabel });
      redrawImages();
    });
    del.addEventListener('click', () => {
      s.changes = [...s.changes, { file: it.file, action: 'delete' }];
      ctx.host.post({ type: 'delete', file: it.file });
      redrawImages();
    });
    return h(
      'figure',
      { className: `tile${change?.action === 'delete' ? ' deleted' : ''}`, 'data-file': it.file, title: it.file },
      h(
        'div',
        { className: 'frame' },
        it.src ? h('img', { src: it.src, alt: title, loading: 'lazy' }) : null,
        camSrc ? h('img', { className: 'overlay gradcam', src: camSrc, alt: 'Grad-CAM' }) : null,
      ),
      // a line break may come after each '/', never inside a number ("0.35/0|.70")
      h('figcaption', { className: `title${wrong ? ' wrong' : marksRight ? ' right' : ''}` }, ...title.split('/').flatMap((part, i) => (i ? ['/', h('wbr'), part] : [part]))),
      h('div', { className: 'file' }, baseName(change?.newFile ?? it.file), ' ', change ? h('span', { className: 'badge' }, change.action === 'delete' ? 'deleted' : `→ ${change.newLabel}`) : null),
      h('div', { className: 'actions' }, select, relabel, del),
    );
  };

  const drawSummary = () => {
    const d = s.data;
    summary.textContent = !d
      ? 'Run Image Trainer: Interpret after training to see what the model gets wrong.'
      : `${d.items?.length ?? d.confusion.flat().reduce((a, b) => a + b, 0)} validation images, ${d.classes.length} classes${d.errorRate !== undefined ? `, error_rate ${fmtNum(d.errorRate, 4)}` : ''}${d.runId ? ` (run ${d.runId})` : ''}`;
    undoButton.toggleAttribute('disabled', !s.changes.length);
    changesText.textContent = s.changes.length ? `${s.changes.length} change${s.changes.length > 1 ? 's' : ''}` : '';
  };

  const drawMatrix = () => {
    clear(matrixBox);
    normToggle.checked = s.normalized;
    const d = s.data;
    if (!d) return;
    const n = d.classes.length;
    const rows = d.confusion;
    const sums = rows.map((r) => r.reduce((a, b) => a + b, 0));
    const max = Math.max(1, ...rows.flat());
    const table = h('table', { className: 'confusion' });
    // fits any width: a fixed layout, the row labels' column sized to the longest name, the cells
    // sharing the rest (never wider than 44 px each, never pushing the page sideways)
    const labelWidth = Math.min(140, 16 + 7 * Math.max(6, ...d.classes.map((c) => c.length)));
    table.style.maxWidth = `${labelWidth + 44 * n}px`;
    const cols = h('colgroup', {}, h('col', {}), ...d.classes.map(() => h('col', {})));
    (cols.firstChild as HTMLElement).style.width = `${labelWidth}px`;
    table.append(cols);
    table.append(
      h('tr', {}, h('th', {}), h('th', { className: 'axis', colspan: n }, 'Predicted')),
      h('tr', {}, h('th', { className: 'axis' }, 'Actual'), ...d.classes.map((c) => h('th', { className: 'col' }, c))),
    );
    rows.forEach((row, a) => {
      const tr = h('tr', {}, h('th', { className: 'row' }, d.classes[a]));
      row.forEach((count, p) => {
        const rate = sums[a] ? count / sums[a] : 0;
        const intensity = s.normalized ? rate : count / max;
        const td = h(
          'td',
          {
            className: `cell${s.selected && s.selected[0] === a && s.selected[1] === p ? ' selected' : ''}`,
            tabindex: 0,
            role: 'button',
            'data-actual': a,
            'data-predicted': p,
            title: `actual ${d.classes[a]}, predicted ${d.classes[p]}: ${count} (${fmtPct(rate)} of ${d.classes[a]})`,
          },
          s.normalized ? (sums[a] ? rate.toFixed(2) : '—') : String(count),
        );
        const pct = Math.round(intensity * 100);
        td.style.background = `color-mix(in srgb, var(--vscode-charts-blue, #3794ff) ${pct}%, transparent)`;
        if (pct > 55) td.style.color = 'var(--vscode-button-foreground, #ffffff)';
        const open = () => selectCell(a, p);
        td.addEventListener('click', open);
        td.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') open();
        });
        tr.append(td);
      });
      table.append(tr);
    });
    matrixBox.append(table);
  };

  const selectCell = (a: number, p: number) => {
    s.selected = [a, p];
    const key = `${a},${p}`;
    if (!s.data?.items && !s.cells[key]) ctx.host.post({ type: 'requestCellItems', actual: a, predicted: p });
    drawMatrix();
    drawCell();
    ctx.stateChanged();
  };

  const cellItemsOf = (a: number, p: number): InterpItem[] | undefined =>
    s.data?.items ? s.data.items.filter((it) => it.actual === a && it.predicted === p) : s.cells[`${a},${p}`];

  const drawCell = () => {
    clear(cellBox);
    if (!s.data || !s.selected) return cellBox.append(h('div', { className: 'empty' }, 'Click a cell of the confusion matrix to see its images.'));
    const [a, p] = s.selected;
    const items = cellItemsOf(a, p);
    cellBox.append(h('p', { 'data-testid': 'cell-title' }, `actual ${cls(a)}, predicted ${cls(p)}: ${items ? items.length : '…'} image${items?.length === 1 ? '' : 's'}`));
    if (!items) return cellBox.append(h('div', { className: 'empty' }, 'Loading…'));
    const grid = h('div', { className: 'grid' });
    for (const it of items) grid.append(tile(it, `${cls(it.predicted)}/${cls(it.actual)}/${it.loss.toFixed(2)}/${it.probActual.toFixed(2)}`, a !== p));
    cellBox.append(grid);
  };

  const drawConfused = () => {
    clear(confusedBox);
    minInput.value = String(s.minCount);
    const d = s.data;
    if (!d) return;
    const pairs = mostConfused(d.classes, d.confusion, s.minCount);
    if (!pairs.length) return confusedBox.append(h('div', { className: 'empty' }, `No pair confused ${s.minCount} time${s.minCount > 1 ? 's' : ''} or more.`));
    const tbody = h('tbody');
    for (const pr of pairs) {
      const tr = h('tr', { tabindex: 0, className: 'clickable' }, h('td', { className: 'text' }, pr.actual), h('td', { className: 'text' }, pr.predicted), h('td', {}, String(pr.count)));
      tr.addEventListener('click', () => selectCell(d.classes.indexOf(pr.actual), d.classes.indexOf(pr.predicted)));
      tbody.append(tr);
    }
    confusedBox.append(h('table', { className: 'data' }, h('thead', {}, h('tr', {}, h('th', {}, 'actual'), h('th', {}, 'predicted'), h('th', {}, 'count'))), tbody));
  };

  const drawTop = () => {
    clear(topBox);
    topSelect.value = String(s.topK);
    camToggle.checked = s.gradCam;
    if (!s.data) return;
    for (const it of topItems()) {
      // The lesson's title: predicted/actual/loss/probability of the actual class.
      topBox.append(tile(it, `${cls(it.predicted)}/${cls(it.actual)}/${it.loss.toFixed(2)}/${it.probActual.toFixed(2)}`, it.predicted !== it.actual, s.gradCam));
    }
  };

  const drawMetrics = () => {
    clear(metricsBox);
    const d = s.data;
    if (!d) return;
    // sklearn's classification_report from the matrix the panel already has (zero divisions 0)
    const r = classificationReport(d.classes, d.confusion);
    const row = (name: string, m: ReportRow, testid?: string) =>
      h('tr', testid ? { 'data-testid': testid } : {}, h('td', {}, name), h('td', {}, fmtNum(m.precision, 3)), h('td', {}, fmtNum(m.recall, 3)), h('td', {}, fmtNum(m.f1, 3)), h('td', {}, String(m.support)));
    metricsBox.append(
      h(
        'table',
        { className: 'data' },
        h('thead', {}, h('tr', {}, ...['class', 'precision', 'recall', 'f1-score', 'support'].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...r.classes.map((m) => row(m.name, m))),
        h(
          'tfoot',
          {},
          h('tr', { 'data-testid': 'report-accuracy' }, h('th', {}, 'accuracy'), h('td', {}), h('td', {}), h('td', {}, fmtNum(r.accuracy, 3)), h('td', {}, String(r.support))),
          row('macro avg', r.macroAvg, 'report-macro'),
          row('weighted avg', r.weightedAvg, 'report-weighted'),
        ),
      ),
    );
  };

  const drawResults = () => {
    clear(resultsBox);
    const items = (s.data?.items ?? s.data?.topLosses ?? []).slice(0, 12);
    for (const it of items) resultsBox.append(tile(it, `${cls(it.actual)}/${cls(it.predicted)}`, it.actual !== it.predicted, false, true));
  };

  const redrawImages = () => {
    drawSummary();
    drawCell();
    drawTop();
    drawResults();
    ctx.stateChanged();
  };
  return {
    drawAll() {
      drawSummary();
      drawMatrix();
      drawConfused();
      drawCell();
      drawTop();
      drawMetrics();
      drawResults();
    },
    onMessage(m: HostMessage) {
      switch (m.type) {
        case 'interpretation':
          Object.assign(s, { data: m.data, cells: {}, gradCams: {}, selected: s.data?.runId === m.data.runId ? s.selected : null });
          if (s.selected && (s.selected[0] >= m.data.classes.length || s.selected[1] >= m.data.classes.length)) s.selected = null;
          return true;
        case 'cellItems':
          s.cells[`${m.actual},${m.predicted}`] = m.items;
          return true;
        case 'gradCam':
          s.gradCams[m.file] = m.src;
          return true;
        case 'cleaner':
          s.changes = m.changes;
          return true;
        default:
          return false;
      }
    },
    summary: () => ({ classes: s.data?.classes.length ?? 0, items: s.data?.items?.length ?? 0, topLosses: Math.min(s.topK, s.data?.topLosses.length ?? 0), topK: s.topK, changes: s.changes.length }),
  };
}

bootstrap('interpretation', {
  empty,
  keepOnReset: (s) => ({ normalized: s.normalized, minCount: s.minCount, topK: s.topK }),
  create: createInterpretationPanel,
});
