// What each panel kind shows, kept so a page that opens, reloads or is re-created mid-run can be
// sent all of it again: which run each run panel shows, the run events, the dataset, the
// interpretation with its cleaner changes and Grad-CAM overlays, and the compared runs.
// No `vscode` import.
import type { TrainerEvent, TrainerEventOf } from '../../protocol/events';
import type { DatasetBatch } from '../../protocol/dataset';
import type { CleanerChange, HostMessage, InterpretationData, PanelKind, RunSummary } from '../../protocol/webview';
import type { RunRecord } from '../runs';
import { RunHistory } from './run-history';

export interface DatasetSummaryLike {
  root: string;
  classes: string[];
  rule?: Record<string, unknown>;
  counts?: { name: string; train: number; valid: number }[];
  trainCount?: number;
  validCount?: number;
  skipped?: { file: string; reason: string }[];
}

/** The panel that shows a run of this kind. */
export const RUN_PANEL: Record<RunRecord['kind'], 'lrFinder' | 'training'> = { lr_find: 'lrFinder', fit: 'training', fit_one_cycle: 'training' };

export class PanelReplay {
  readonly history = new RunHistory();
  /** Run shown by each run panel. */
  readonly shownRun = new Map<PanelKind, string>();
  datasetEvent: TrainerEventOf<'dataset'> | undefined;
  batch: DatasetBatch | undefined;
  interpretation: InterpretationData | undefined;
  comparison: RunSummary[] = [];
  cleanerChanges: CleanerChange[] = [];
  readonly gradCams = new Map<string, string>();

  /** Takes a dataset summary (an openDataset answer) as the dataset event the page draws. */
  setDataset(s: DatasetSummaryLike): void {
    this.datasetEvent = {
      type: 'dataset',
      root: s.root,
      rule: s.rule ?? {},
      classes: s.classes,
      counts: s.counts ?? [],
      trainCount: s.trainCount ?? 0,
      validCount: s.validCount ?? 0,
      skipped: s.skipped ?? [],
    };
  }

  /** A new interpretation: the old cleaner changes and overlays belong to the old one. */
  setInterpretation(data: InterpretationData | undefined): void {
    this.interpretation = data;
    this.cleanerChanges = [];
    this.gradCams.clear();
  }

  /** Everything a (re)loaded page of this kind should show. */
  messages(kind: PanelKind): HostMessage[] {
    const out: HostMessage[] = [{ type: 'reset' }];
    switch (kind) {
      case 'training':
      case 'lrFinder': {
        const runId = this.shownRun.get(kind) ?? this.history.latest(kind === 'lrFinder' ? ['lr_find'] : ['fit', 'fit_one_cycle']);
        if (runId) out.push({ type: 'events', events: this.history.events(runId) });
        break;
      }
      case 'dataset':
        if (this.datasetEvent) out.push({ type: 'events', events: [this.datasetEvent] });
        if (this.batch) out.push({ type: 'datasetBatch', batch: this.batch });
        break;
      case 'interpretation':
        if (this.interpretation) out.push({ type: 'interpretation', data: this.interpretation });
        if (this.cleanerChanges.length) out.push({ type: 'cleaner', changes: this.cleanerChanges });
        for (const [file, src] of this.gradCams) out.push({ type: 'gradCam', file, src });
        break;
      case 'runComparison':
        out.push({ type: 'runs', runs: this.comparison });
        break;
    }
    return out;
  }

  /** Records a live event for later replay. */
  record(event: TrainerEvent): void {
    this.history.record(event);
    if (event.type === 'dataset') this.datasetEvent = event;
  }
}
