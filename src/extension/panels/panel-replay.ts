// What each panel kind shows, kept so a page that opens, reloads or is re-created mid-run can be
// sent all of it again: which run each run panel shows, the run events, the dataset, the
// interpretation with its cleaner changes and Grad-CAM overlays, and the compared runs.
// No `vscode` import.
import type { TrainerEvent, TrainerEventOf } from '../../protocol/events';
import type { DatasetBatch } from '../../protocol/dataset';
import type { CleanerChange, HostMessage, InterpretationData, PanelKind, RunSummary } from '../../protocol/webview';
import type { RunKind } from '../../protocol/runs';
import type { RunRecord } from '../runs';
import { eventsOfRecord } from './run-summary';

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
export const RUN_PANEL: Record<RunRecord['kind'], 'lrFinder' | 'training'> = { lr_find: 'lrFinder', fit: 'training', fit_one_cycle: 'training', fine_tune: 'training' };

/** The runs and their events: the extension's RunStore, which holds its one event buffer. */
export interface RunSource {
  /** The events this session saw for a run. */
  eventsOf(runId: string): readonly TrainerEvent[];
  /** The saved record (a run this session saw no events of is drawn from it, after a reload). */
  get(runId: string): RunRecord | undefined;
  latest(kinds: readonly RunKind[]): RunRecord | undefined;
}

export class PanelReplay {
  /** Run shown by each run panel. */
  readonly shownRun = new Map<PanelKind, string>();
  datasetEvent: TrainerEventOf<'dataset'> | undefined;
  batch: DatasetBatch | undefined;
  interpretation: InterpretationData | undefined;
  comparison: RunSummary[] = [];
  cleanerChanges: CleanerChange[] = [];
  readonly gradCams = new Map<string, string>();
  /** The next Fit One Cycle's max lr, as the LR-finder panel shows it. */
  nextLr: Extract<HostMessage, { type: 'nextLr' }> | undefined;

  constructor(private readonly runs: RunSource) {}

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

  /** The events that draw a run: those this session saw, else the ones its saved record stands for. */
  runEvents(runId: string): TrainerEvent[] {
    const seen = this.runs.eventsOf(runId);
    if (seen.length) return [...seen];
    const record = this.runs.get(runId);
    return record ? eventsOfRecord(record) : [];
  }

  /** The run a run panel shows: the one it was asked for, else the newest of its kinds. */
  runToShow(kind: 'training' | 'lrFinder'): string | undefined {
    return this.shownRun.get(kind) ?? this.runs.latest(kind === 'lrFinder' ? ['lr_find'] : ['fit', 'fit_one_cycle', 'fine_tune'])?.runId;
  }

  /**
   * Everything a (re)loaded page of this kind should show, after a reset; nothing at all when there
   * is nothing for it, so a page restored after a window reload keeps what it saved.
   */
  messages(kind: PanelKind): HostMessage[] {
    const out: HostMessage[] = [];
    switch (kind) {
      case 'training':
      case 'lrFinder': {
        const runId = this.runToShow(kind);
        const events = runId ? this.runEvents(runId) : [];
        if (events.length) out.push({ type: 'events', events });
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
        if (this.comparison.length) out.push({ type: 'runs', runs: this.comparison });
        break;
    }
    const all: HostMessage[] = out.length ? [{ type: 'reset' }, ...out] : [];
    if (kind === 'lrFinder' && this.nextLr) all.push(this.nextLr);
    return all;
  }
}
