// The Output channel as the run's log: each fit / lr_find begins with its name and settings, every
// epoch adds a row of fastai's table, lr_find adds its suggestions, and the run ends with its
// status; the trainer's own log lines keep their level ("[warn] …" becomes a warning, once).
import type * as vscode from 'vscode';
import type { TrainerEvent } from '../protocol/events';
import { formatLrs, formatLrValue } from '../protocol/lr';
import { runName, type RunRecord } from './runs';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const LEVEL = /^\[(trace|debug|info|warn|warning|error)\]\s?([\s\S]*)$/i;

/** A log line with a leading "[level]" goes to that level without the prefix (no "[info] [warn] …"). */
export function splitLevel(line: string): { level: Level; text: string } {
  const m = LEVEL.exec(line);
  if (!m) return { level: 'info', text: line };
  const l = m[1].toLowerCase();
  return { level: (l === 'warning' ? 'warn' : l) as Level, text: m[2] };
}

export function logLine(output: Pick<vscode.LogOutputChannel, Level>, line: string): void {
  const { level, text } = splitLevel(line);
  output[level](text);
}

const COLUMNS = ['epoch', 'train_loss', 'valid_loss', 'error_rate', 'accuracy', 'time'];
const pad = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(5) : c.padStart(i === cells.length - 1 ? 5 : 10))).join('  ');
const num = (x: number | null) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(6));
const time = (s: number) => `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/** Lines for one trainer event of a run (empty for batches and events of no run). */
export function runLogLines(e: TrainerEvent, run: RunRecord | undefined): { level: Level; text: string }[] {
  switch (e.type) {
    case 'fit_begin': {
      const name = run ? runName(run) : e.kind;
      const lr = e.kind === 'lr_find' ? '' : `, max lr ${formatLrs(e.lrs)}`;
      const frozen = e.frozenTo > 0 ? `frozen to layer group ${e.frozenTo} of ${e.layerGroups}` : `all ${e.layerGroups} layer groups train`;
      const out = [{ level: 'info' as const, text: `${name}: ${e.epochs} epoch${e.epochs === 1 ? '' : 's'} × ${e.batchesPerEpoch} batches${lr}; ${frozen}` }];
      if (e.kind !== 'lr_find') out.push({ level: 'info', text: pad(COLUMNS) });
      return out;
    }
    case 'epoch':
      return [{ level: 'info', text: pad([String(e.epoch), e.trainLoss.toFixed(6), num(e.validLoss), num(e.errorRate), num(e.accuracy), time(e.seconds)]) }];
    case 'lr_find_result':
      return [{ level: 'info', text: `lr_find suggestions: valley ${formatLrValue(e.suggestions.valley)}, min gradient ${formatLrValue(e.suggestions.minGrad)} (${e.lrs.length} points plotted)` }];
    case 'fit_end': {
      const name = run ? runName(run) : e.kind;
      if (e.status === 'failed') return [{ level: 'error', text: `${name} failed: ${e.error ?? 'unknown error'}` }];
      if (e.status === 'stopped') return [{ level: 'warn', text: `${name} stopped at your request${run?.epochRows.length ? ` after ${run.epochRows.length} epoch${run.epochRows.length === 1 ? '' : 's'}` : ' before the first epoch ended'}` }];
      return [{ level: 'info', text: `${name} completed` }];
    }
    default:
      return [];
  }
}
