// Training panel: fastai's progress bars, live loss curves, the one-cycle lr/momentum schedule,
// the epoch table growing row by row, freeze state and per-group lrs, and a Stop button.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type uPlot from 'uplot';
import type { TrainerEvent } from '../src/protocol/events';
import { beginRun, reduceRun, runWhat, type RunChange, type RunCurves, type RunState } from '../src/protocol/run-reducer';
import { bootstrap, type PanelContext, type PanelView } from './common/panel';
import { h, clear, section } from './common/dom';
import { formatLrValue } from '../src/protocol/lr';
import { fmtNum, fmtTime } from './common/format';
import { ThemedPlot, themedAxis } from './common/plot';

export interface TrainingState {
  /** The run shown, folded by the protocol's run reducer (with per-batch curves). */
  run: RunState | null;
  notice?: { level: string; message: string };
}

export function emptyTraining(): TrainingState {
  return { run: null };
}

const NO_CURVES: RunCurves = { stride: 1, step: [], loss: [], smoothLoss: [], lr: [], mom: [] };
const curvesOf = (s: TrainingState): RunCurves => s.run?.curves ?? NO_CURVES;
const statusOf = (s: TrainingState): RunState['status'] | 'idle' => s.run?.status ?? 'idle';

/** Applies one trainer event to the state; returns which parts changed. Pure, so replays are cheap. */
export function applyTrainingEvent(s: TrainingState, e: TrainerEvent): RunChange {
  if (e.type === 'fit_begin') {
    if (e.kind === 'lr_find') return {};
    if (s.run?.runId !== e.runId) s.run = beginRun(e, { curves: true }); // a replayed fit_begin keeps what was drawn
    return { curves: true, table: true, header: true };
  }
  if (e.type === 'error') {
    s.notice = { level: 'error', message: e.file ? `${e.message} (${e.file})${e.fix ? ` — ${e.fix}` : ''}` : e.message };
    return { header: true };
  }
  return s.run ? reduceRun(s.run, e) : {};
}

/** Loss plot data: batch steps merged with the epoch-end steps that carry the valid loss. */
export function lossSeries(s: TrainingState): uPlot.AlignedData {
  const bpe = s.run?.batchesPerEpoch ?? 1;
  const c = curvesOf(s);
  const valid = (s.run?.epochRows ?? []).filter((e) => e.validLoss !== null).map((e) => [(e.epoch + 1) * bpe - 1, e.validLoss as number] as const);
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
  for (let i = 0; i < c.step.length; i++) {
    const step = c.step[i];
    for (; j < valid.length && valid[j][0] < step; j++) add(valid[j][0], null, null, valid[j][1]);
    const v = j < valid.length && valid[j][0] === step ? valid[j++][1] : null;
    add(step, c.loss[i], c.smoothLoss[i], v);
  }
  for (; j < valid.length; j++) add(valid[j][0], null, null, valid[j][1]);
  return [xs, raw, smooth, val];
}

function createTrainingPanel(root: HTMLElement, ctx: PanelContext<TrainingState>): PanelView {
  const s = ctx.state;

  const title = h('h1', {}, 'Training');
  const statusLine = h('div', { className: 'muted', 'data-testid': 'status' });
  const stopButton = h('vscode-button', { icon: 'debug-stop', secondary: true, 'data-testid': 'stop', disabled: true }, 'Stop');
  stopButton.addEventListener('click', () => {
    if (statusOf(s) === 'running') ctx.host.post({ type: 'stop', runId: s.run?.runId });
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
        // raw: thin, faint and dashed, so its legend marker (dashed) is not the smoothed one's twin
        { label: 'train (raw)', stroke: c.fg, alpha: 0.35, width: 1, dash: [3, 3], spanGaps: true, value: (_u, v) => fmtNum(v, 4) },
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
    [curvesOf(s).step, curvesOf(s).lr, curvesOf(s).mom],
  );

  const drawCurves = () => {
    lossPlot.setData(lossSeries(s));
    const c = curvesOf(s);
    schedPlot.setData([c.step, c.lr, c.mom]);
  };

  const drawHeader = () => {
    const r = s.run;
    const status = statusOf(s);
    const running = status === 'running';
    stopButton.toggleAttribute('disabled', !running);
    title.textContent = r ? `Training — ${runWhat(r)}` : 'Training';
    statusLine.textContent = !r
      ? 'Waiting for a Fit One Cycle run…'
      : status === 'failed'
        ? `failed: ${r.error ?? 'unknown error'}`
        : status;
    statusLine.className = status === 'failed' ? 'error-text' : 'muted';
    const noticeKey = s.notice ? `${s.notice.level}:${s.notice.message}` : '';
    if (noticeBox.dataset.key !== noticeKey) {
      noticeBox.dataset.key = noticeKey;
      clear(noticeBox);
      if (s.notice) noticeBox.append(h('div', { className: `notice ${s.notice.level}` }, s.notice.message));
    }
    const epochs = r?.epochs ?? 0;
    const bpe = r?.batchesPerEpoch ?? 0;
    const doneEpochs = status === 'completed' ? epochs : (r?.epochRows.length ?? 0);
    epochBar.max = Math.max(1, epochs);
    epochBar.value = doneEpochs;
    epochText.textContent = r ? `${doneEpochs}/${epochs}` : '';
    const at = r?.at;
    const iter = status === 'completed' ? bpe : at ? at.iter + 1 : 0;
    batchBar.max = Math.max(1, bpe);
    batchBar.value = iter;
    batchText.textContent = r ? `${iter}/${bpe}${at ? ` (epoch ${at.epoch + 1})` : ''}` : '';
    drawFreeze();
  };

  // The group table is rebuilt only when the run changes; per batch only the current-lr cells change.
  let freezeFor: RunState | null | undefined;
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
    if (!r) return;
    const lastLrs = r.lastLrs;
    currentLrCells.forEach((td, g) => (td.textContent = formatLrValue(lastLrs[g] ?? lastLrs[lastLrs.length - 1])));
  };

  const drawTable = () => {
    const rows = s.run?.epochRows ?? [];
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

  const apply = (e: TrainerEvent) => {
    const changed = applyTrainingEvent(s, e);
    if (changed.curves) ctx.frames.schedule('curves', drawCurves);
    if (changed.table) ctx.frames.schedule('table', drawTable);
    if (changed.header) ctx.frames.schedule('header', drawHeader);
  };

  return {
    drawAll() {
      drawHeader();
      drawTable();
      drawCurves();
    },
    onEvent: apply,
    summary: () => ({ runId: s.run?.runId ?? null, status: statusOf(s), points: curvesOf(s).step.length, rows: s.run?.epochRows.length ?? 0, lastStep: curvesOf(s).step.at(-1) ?? null }),
  };
}

bootstrap('training', {
  empty: emptyTraining,
  // A state saved by an older build (no reduced run with curves) starts empty.
  restore: (saved) => (saved.run?.curves ? { ...emptyTraining(), ...saved } : emptyTraining()),
  create: createTrainingPanel,
});
