// What the commands need from the webview panels. The panels themselves live in ./panels (their
// own module); this seam keeps the commands independent of how each panel is built.
import type { TrainerEvent } from '../protocol/events';
import type { PanelKind, RenderedSummary } from '../protocol/webview';
import type { RunRecord } from './runs';

export interface PanelHost {
  /** Opens (or reveals) the LR-finder or training panel of a run, caught up from its events. */
  showRun(run: RunRecord): void;
  /** Live (throttled) events for the open run panels. */
  post(event: TrainerEvent): void;
  /** fastai show_batch result (the trainer's showBatch answer) plus the dataset summary. */
  showDataset(batch: unknown, summary: unknown): void;
  /** The trainer's interpret answer; `focus` picks the section (show_results or the matrix). */
  showInterpretation(result: unknown, focus: 'interpretation' | 'results'): void;
  compareRuns(runs: readonly RunRecord[]): void;
  /** Titles of the panels open now (tests). */
  openPanels(): string[];
  /** What the open page of this kind last reported having drawn (tests in a real VS Code). */
  rendered(kind: PanelKind): RenderedSummary | undefined;
  dispose(): void;
}
