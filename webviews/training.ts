// Training panel: fastai's progress bars, live loss curves, the one-cycle lr/momentum schedule,
// the epoch table growing row by row, freeze state and per-group lrs, and a Stop button.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type uPlot from 'uplot';
import type { TrainerEvent, TrainerEventOf } from '../src/protocol/events';
import type { HostMessage } from '../src/protocol/webview';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { formatLrValue } from '../src/protocol/lr';
import { fmtNum, fmtTime } from './common/format';
import { ThemedPlot, themedAxis } from './common/plot';

type FitBegin = TrainerEventOf<'fit_begin'>;
type EpochEvent = TrainerEventOf<'epoch'>;

export interface TrainingState {
  run: FitBegin | null;
  /** Per received batch, in step order (the host may thin the stream; steps can have gaps). */
  steps: number[];
  loss: number[];
  smooth: number[];
  lr: number[];
  mom: number[];
  lastLrs: number[];
  epochs: EpochEvent[];
  at: { epoch: number; iter: number } | null;
  status: 'idle' | 'running' | 'completed' | 'stopped' | 'failed';
  error?: string;
  notice?: { level: string; message: string };
}

export function emptyTraining(): TrainingState {
  return { run: null, steps: [], loss: [], smooth: [], lr: [], mom: [], lastLrs: [], epochs: [], at: null, status: 'idle' };
}

/** Applies one trainer event to the state; returns which parts changed. Pure, so replays are cheap. */
export function applyTrainingEvent(s: TrainingState, e: TrainerEvent): { curves?: boolean; table?: boolean; header?: boolean } {
  switch (e.type) {
    case 'fit_begin': {
      if (e.kind === 'lr_find') return {};
      if (s.run?.runId !== e.runId) Object.assign(s, emptyTraining());
      s.run = e;
      s.status = 'running';
      s.lastLrs = e.lrs;
      return { curves: true, table: true, header: true };
    }
    case 'batch': {
      if (!s.run || e.runId !== s.run.runId) return {};
      const n = s.steps.length;
      if (n === 0 || e.step > s.steps[n - 1]) {
        s.steps.push(e.step);
        s.loss.push(e.loss);
        s.smooth.push(e.smoothLoss);
        s.lr.push(e.lrs[e.lrs.length - 1] ?? NaN);
        s.mom.push(e.mom);
      } else {
        const i = s.steps.indexOf(e.step); // replayed duplicate: overwrite in place
        if (i < 0) return {};
        s.loss[i] = e.loss;
        s.smooth[i] = e.smoothLoss;
      }
      s.lastLrs = e.lrs;
      s.at = { epoch: e.epoch, iter: e.iter };
      return { curves: true, header: true };
    }
    case 'epoch': {
      if (!s.run || e.runId !== s.run.runId) return {};
      const i = s.epochs.findIndex((r) => r.epoch === e.epoch);
      if (i >= 0) s.epochs[i] = e;
      else s.epochs.push(e);
      s.epochs.sort((a, b) => a.epoch - b.epoch);
      return { curves: true, table: true, header: true };
    }
    case 'fit_end': {
      if (!s.run || e.runId !== s.run.runId) return {};
      s.status = e.status;
      s.error = e.error;
      return { header: true };
    }
    case 'error':
      s.notice = { level: 'error', message: e.file ? `${e.message} (${e.file})${e.fix ? ` — ${e.fix}` : ''}` : e.message };
      return { header: true };
    default:
      return {};
  }
}

/** Loss plot data: batch steps merged with the epoch-end steps that carry the valid loss. */
export function lossSeries(s: TrainingState): uPlot.AlignedData {
  const bpe = s.run?.batchesPerEpoch ?? 1;
  const valid = s.epochs.filter((e) => e.validLoss !== null).map((e) => [(e.epoch + 1) * bpe - 1, e.validLoss as number] as const);
  const xs: number[] = [];
  const raw: (number | null)[] = [];
  const smooth: (number | null)[] = [];
  const val: (number | null)[] = [];
  const add = (x: number, r: number | null, sm: number | null, v: number | null) => {
    xs.push(x);
    raw.push(r);
    smooth.push(sm);
    val.push(v);
  };
  let j = 0;
  for (let i = 0; i < s.steps.length; i++) {
    const step = s.steps[i];
    for (; j < valid.length && valid[j][0] < step; j++) add(valid[j][0], null, null, valid[j][1]);
    const v = j < valid.length && valid[j][0] === step ? valid[j++][1] : null;
    add(step, s.loss[i], s.smooth[i], v);
  }
  for (; j < valid.length; j++) add(valid[j][0], null, null, valid[j][1]);
  return [xs, raw, smooth, val];
}

function createTrainingPanel(root: HTMLElement, ctx: PanelContext): PanelView<TrainingState> {
  let s = emptyTraining();

  const title = h('h1', {}, 'Training');
  const statusLine = h('div', { className: 'muted', 'data-testid': 'status' });
  const stopButton = h('vscode-button', { icon: 'debug-stop', secondary: true, 'data-testid': 'stop', disabled: true }, 'Stop');
  stopButton.addEventListener('click', () => {
    if (s.status === 'running') ctx.host.post({ type: 'stop', runId: s.run?.runId });
  });
  const noticeBox = h('div');
  const epochBar = h('vscode-progress-bar', { 'aria-label': 'epochs' }) as HTMLElement & { value?: number; max: number };
  const batchBar = h('vscode-progress-bar', { 'aria-label': 'batches' }) as HTMLElement & { value?: number; max: number };
  const epochText = h('span', { className: 'muted', 'data-testid': 'epoch-progress' });
  const batchText = h('span', { className: 'muted', 'data-testid': 'batch-progress' });
  const freezeBox = h('div', { 'data-testid': 'freeze' });
  const tableBody = h('tbody', { 'data-testid': 'epoch-rows' });
  const lossDiv = h('div', { className: 'plot', 'data-testid': 'loss-plot' });
  const schedDiv = h('div', { className: 'plot', 'data-testid': 'schedule-plot' });

  root.append(
    h('div', { className: 'row' }, title, h('span', { className: 'grow' }), stopButton),
    statusLine,
    noticeBox,
    section(
      'Progress',
      h('div', { className: 'progress' }, h('span', {}, 'Epochs'), epochBar, epochText, h('span', {}, 'Batches'), batchBar, batchText),
    ),
    h(
      'div',
      { className: 'columns' },
      section('Loss', lossDiv),
      section('Schedule (one cycle): learning rate and momentum', schedDiv),
    ),
    h(
      'div',
      { className: 'columns' },
      section(
        'Epochs',
        h(
          'table',
          { className: 'data', 'data-testid': 'epoch-table' },
          h('thead', {}, h('tr', {}, ...['epoch', 'train_loss', 'valid_loss', 'error_rate', 'accuracy', 'time'].map((c) => h('th', {}, c)))),
          tableBody,
        ),
      ),
      section('Layer groups', freezeBox),
    ),
  );

  const lossPlot = new ThemedPlot(
    lossDiv,
    (c) => ({
      scales: { x: { time: false } },
      cursor: { drag: { x: true, y: false } },
      axes: [themedAxis(c, { label: 'batch' }), themedAxis(c, { label: 'loss', size: 60 })],
      series: [
        { label: 'step' },
        { label: 'train (raw)', stroke: c.blue, alpha: 0.35, width: 1, spanGaps: true, value: (_u, v) => fmtNum(v, 4) },
        { label: 'train (smoothed)', stroke: c.blue, width: 2, spanGaps: true, value: (_u, v) => fmtNum(v, 4) },
        { label: 'valid', stroke: c.orange, width: 2, spanGaps: true, points: { show: true, size: 7, fill: c.orange }, value: (_u, v) => fmtNum(v, 4) },
      ],
    }),
    lossSeries(s),
  );
  const schedPlot = new ThemedPlot(
    schedDiv,
    (c) => ({
      scales: { x: { time: false }, mom: { auto: true } },
      axes: [
        themedAxis(c, { label: 'batch' }),
        themedAxis(c, { label: 'lr', size: 70, values: (_u, vals) => vals.map((v) => (v === 0 ? '0' : v.toExponential(1))) }),
        themedAxis(c, { scale: 'mom', side: 1, label: 'momentum', size: 55, grid: { show: false }, values: (_u, vals) => vals.map((v) => v.toFixed(3)) }),
      ],
      series: [
        { label: 'step' },
        { label: 'lr (last group)', stroke: c.green, width: 2, value: (_u, v) => formatLrValue(v) },
        { label: 'momentum', stroke: c.purple, width: 2, scale: 'mom', value: (_u, v) => (v === null ? '—' : v.toFixed(4)) },
      ],
    }),
    [s.steps, s.lr, s.mom],
  );

  const drawCurves = () => {
    lossPlot.setData(lossSeries(s));
    schedPlot.setData([s.steps, s.lr, s.mom]);
  };

  const drawHeader = () => {
    const r = s.run;
    const running = s.status === 'running';
    stopButton.toggleAttribute('disabled', !running);
    title.textContent = r ? `Training — ${r.runId}` : 'Training';
    statusLine.textContent = !r
      ? 'Waiting for a Fit One Cycle run…'
      : s.status === 'failed'
        ? `failed: ${s.error ?? 'unknown error'}`
        : s.status;
    statusLine.className = s.status === 'failed' ? 'error-text' : 'muted';
    const noticeKey = s.notice ? `${s.notice.level}:${s.notice.message}` : '';
    if (noticeBox.dataset.key !== noticeKey) {
      noticeBox.dataset.key = noticeKey;
      clear(noticeBox);
      if (s.notice) noticeBox.append(h('div', { className: `notice ${s.notice.level}` }, s.notice.message));
    }
    const epochs = r?.epochs ?? 0;
    const bpe = r?.batchesPerEpoch ?? 0;
    const doneEpochs = s.status === 'completed' ? epochs : s.epochs.length;
    epochBar.max = Math.max(1, epochs);
    epochBar.value = doneEpochs;
    epochText.textContent = r ? `${doneEpochs}/${epochs}` : '';
    const iter = s.status === 'completed' ? bpe : s.at ? s.at.iter + 1 : 0;
    batchBar.max = Math.max(1, bpe);
    batchBar.value = iter;
    batchText.textContent = r ? `${iter}/${bpe}${s.at ? ` (epoch ${s.at.epoch + 1})` : ''}` : '';
    drawFreeze();
  };

  // The group table is rebuilt only when the run changes; per batch only the current-lr cells change.
  let freezeFor: FitBegin | null | undefined;
  let currentLrCells: HTMLElement[] = [];
  const drawFreeze = () => {
    const r = s.run;
    if (r !== freezeFor) {
      freezeFor = r;
      clear(freezeBox);
      currentLrCells = [];
      if (!r) return freezeBox.append(h('div', { className: 'empty' }, 'No run yet.'));
      const frozen = r.frozenTo > 0;
      freezeBox.append(
        h(
          'p',
          { 'data-testid': 'freeze-state' },
          frozen
            ? `Frozen: group${r.frozenTo > 1 ? `s 0–${r.frozenTo - 1}` : ' 0'} frozen (BatchNorm layers still train), training ${r.layerGroups - r.frozenTo > 1 ? `groups ${r.frozenTo}–${r.layerGroups - 1}` : `group ${r.frozenTo} (head)`}`
            : `Unfrozen: all ${r.layerGroups} layer groups train`,
        ),
        h(
          'table',
          { className: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'group'), h('th', {}, 'state'), h('th', {}, 'max lr'), h('th', {}, 'current lr'))),
          h(
            'tbody',
            {},
            ...Array.from({ length: r.layerGroups }, (_, g) => {
              const cur = h('td', {});
              currentLrCells.push(cur);
              return h(
                'tr',
                {},
                h('td', {}, g === r.layerGroups - 1 ? `${g} (head)` : String(g)),
                h('td', { className: 'text' }, g < r.frozenTo ? 'frozen' : 'trains'),
                h('td', {}, formatLrValue(r.lrs[g] ?? r.lrs[r.lrs.length - 1])),
                cur,
              );
            }),
          ),
        ),
      );
    }
    currentLrCells.forEach((td, g) => (td.textContent = formatLrValue(s.lastLrs[g] ?? s.lastLrs[s.lastLrs.length - 1])));
  };

  const drawTable = () => {
    const rows = s.epochs;
    // Grow row by row: keep existing rows, update changed ones, append new.
    while (tableBody.rows.length > rows.length) tableBody.deleteRow(-1);
    rows.forEach((e, i) => {
      const cells = [String(e.epoch), fmtNum(e.trainLoss), fmtNum(e.validLoss), fmtNum(e.errorRate), fmtNum(e.accuracy), fmtTime(e.seconds)];
      let tr = tableBody.rows[i];
      if (!tr) tr = tableBody.appendChild(h('tr', { 'data-epoch': e.epoch }));
      if (tr.cells.length !== cells.length) tr.replaceChildren(...cells.map((c) => h('td', {}, c)));
      else cells.forEach((c, k) => (tr.cells[k].textContent = c));
      tr.title = `${Math.round(e.trainImagesPerSecond)} train images/s`;
    });
  };

  const drawAll = () => {
    drawHeader();
    drawTable();
    drawCurves();
  };
  drawAll();

  const apply = (e: TrainerEvent) => {
    const changed = applyTrainingEvent(s, e);
    if (changed.curves) ctx.frames.schedule('curves', drawCurves);
    if (changed.table) ctx.frames.schedule('table', drawTable);
    if (changed.header) ctx.frames.schedule('header', drawHeader);
  };

  return {
    render(state) {
      s = { ...emptyTraining(), ...state };
      drawAll();
    },
    onMessage(m: HostMessage) {
      if (m.type === 'reset') {
        s = emptyTraining();
        ctx.frames.schedule('all', drawAll);
      } else if (m.type === 'events') m.events.forEach(apply);
      else if (m.type === 'notice') {
        s.notice = { level: m.level, message: m.message };
        ctx.frames.schedule('header', drawHeader);
      }
    },
    snapshot: () => s,
    summary: () => ({ runId: s.run?.runId ?? null, status: s.status, points: s.steps.length, rows: s.epochs.length, lastStep: s.steps[s.steps.length - 1] ?? null }),
  };
}

bootstrap('training', createTrainingPanel);
