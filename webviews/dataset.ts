// Dataset panel (data.show_batch(), data.classes): a grid of sample images with labels, class
// counts per split as a bar chart, the files that were skipped and why, and a re-shuffle button.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { TrainerEventOf } from '../src/protocol/events';
import type { DatasetBatch } from '../src/protocol/dataset';
import type { HostMessage } from '../src/protocol/webview';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { baseName } from './common/format';

type DatasetEvent = TrainerEventOf<'dataset'>;

export interface DatasetState {
  dataset: DatasetEvent | null;
  batch: DatasetBatch | null;
  split: 'train' | 'valid';
  notice?: { level: string; message: string };
}

const empty = (): DatasetState => ({ dataset: null, batch: null, split: 'train' });

function describeRule(rule: Record<string, unknown>): string {
  switch (rule.kind) {
    case 'nameRe':
      // RegExp.source escapes '/' as '\/': show the pattern as the user typed it, as fastai writes it (r'…')
      return `label = first group of r'${String(rule.pattern).replace(/\\\//g, '/')}' on the path (from_name_re)`;
    case 'folder':
      return `label = parent folder (from_folder${rule.train ? `, train='${String(rule.train)}'` : ''}${rule.valid ? `, valid='${String(rule.valid)}'` : ''})`;
    case 'csv':
      return `labels from ${String(rule.csvFile)} (from_csv)`;
    default:
      return String(rule.kind ?? 'unknown');
  }
}

function createDatasetPanel(root: HTMLElement, ctx: PanelContext<DatasetState>): PanelView {
  const s = ctx.state;
  const summary = h('div', { 'data-testid': 'summary' });
  const noticeBox = h('div');
  const gridBox = h('div', { className: 'grid', 'data-testid': 'batch-grid' });
  const barsBox = h('div', { 'data-testid': 'class-counts' });
  const skippedBox = h('div', { 'data-testid': 'skipped' });
  const splitSelect = h('select', { 'aria-label': 'split', 'data-testid': 'split' }, h('option', { value: 'train' }, 'train'), h('option', { value: 'valid' }, 'valid'));
  const shuffle = h('vscode-button', { icon: 'refresh', 'data-testid': 'reshuffle' }, 'Re-shuffle');
  shuffle.addEventListener('click', () => ctx.host.post({ type: 'reshuffle', split: s.split }));
  splitSelect.addEventListener('change', () => {
    s.split = splitSelect.value === 'valid' ? 'valid' : 'train';
    ctx.host.post({ type: 'reshuffle', split: s.split });
    ctx.stateChanged();
  });
  root.append(
    h('h1', {}, 'Dataset'),
    summary,
    noticeBox,
    section('show_batch', h('div', { className: 'toolbar' }, h('label', {}, 'Split ', splitSelect), shuffle), gridBox),
    h('div', { className: 'columns' }, section('Images per class', barsBox), section('Skipped files', skippedBox)),
  );

  const drawSummary = () => {
    clear(summary);
    clear(noticeBox);
    if (s.notice) noticeBox.append(h('div', { className: `notice ${s.notice.level}` }, s.notice.message));
    const d = s.dataset;
    if (!d) return summary.append(h('div', { className: 'empty' }, 'No dataset open. Run Image Trainer: Open Dataset…'));
    summary.append(
      h(
        'dl',
        { className: 'kv' },
        h('dt', {}, 'folder'),
        h('dd', {}, d.root),
        h('dt', {}, 'labels'),
        h('dd', {}, describeRule(d.rule)),
        h('dt', {}, 'classes'),
        h('dd', { 'data-testid': 'class-count' }, `${d.classes.length} (data.c)`),
        h('dt', {}, 'images'),
        h('dd', {}, `${d.trainCount} train, ${d.validCount} valid, ${d.skipped.length} skipped`),
      ),
    );
  };

  const drawBatch = () => {
    clear(gridBox);
    splitSelect.value = s.split;
    const b = s.batch;
    if (!b || !b.items.length) return gridBox.append(h('div', { className: 'empty' }, 'No sample batch yet.'));
    for (const it of b.items) {
      gridBox.append(
        h(
          'figure',
          { className: 'tile', title: it.file, 'data-file': it.file },
          h('div', { className: 'frame' }, it.src ? h('img', { src: it.src, alt: it.label, loading: 'lazy' }) : null),
          h('figcaption', { className: 'title' }, it.label),
        ),
      );
    }
  };

  const drawCounts = () => {
    clear(barsBox);
    clear(skippedBox);
    const d = s.dataset;
    if (!d) return;
    const max = Math.max(1, ...d.counts.map((c) => c.train + c.valid));
    const bars = h('div', { className: 'bars' });
    for (const c of d.counts) {
      const train = h('div', { className: 'bar train', title: `${c.train} train` });
      const valid = h('div', { className: 'bar valid', title: `${c.valid} valid` });
      train.style.width = `${(100 * c.train) / max}%`;
      valid.style.width = `${(100 * c.valid) / max}%`;
      bars.append(h('span', { className: 'label' }, c.name), h('div', { className: 'track' }, train, valid), h('span', { className: 'value' }, `${c.train} / ${c.valid}`));
    }
    barsBox.append(
      h('div', { className: 'muted' }, h('span', { className: 'legend-swatch train' }), 'train', h('span', { className: 'legend-swatch valid' }), 'valid'),
      bars,
    );
    if (!d.skipped.length) skippedBox.append(h('div', { className: 'empty' }, 'None: every file found was used.'));
    else
      skippedBox.append(
        h(
          'table',
          { className: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'file'), h('th', {}, 'reason'))),
          h('tbody', {}, ...d.skipped.map((f) => h('tr', {}, h('td', { title: f.file }, baseName(f.file)), h('td', { className: 'text' }, f.reason)))),
        ),
      );
  };

  return {
    drawAll() {
      drawSummary();
      drawBatch();
      drawCounts();
    },
    onMessage(m: HostMessage) {
      if (m.type === 'events') {
        const d = [...m.events].reverse().find((e): e is DatasetEvent => e.type === 'dataset');
        if (d) {
          if (s.dataset && s.dataset.root !== d.root) s.batch = null;
          s.dataset = d;
        }
        const err = [...m.events].reverse().find((e) => e.type === 'error');
        if (err && err.type === 'error') s.notice = { level: 'error', message: [err.message, err.file, err.fix].filter(Boolean).join(' — ') };
      } else if (m.type === 'datasetBatch') {
        s.batch = m.batch;
        s.split = m.batch.split;
      } else return false;
      return true;
    },
    summary: () => ({ root: s.dataset?.root.slice(-256) ?? null, classes: s.dataset?.classes.length ?? 0, images: s.batch?.items.length ?? 0, skipped: s.dataset?.skipped.length ?? 0 }),
  };
}

bootstrap('dataset', { empty, keepOnReset: (s) => ({ split: s.split }), create: createDatasetPanel });
