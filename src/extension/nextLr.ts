// "The next max lr": the one value the next Fit One Cycle uses, shown the same in the LR-finder
// panel, the Fit One Cycle prompt and the Learner view. A max lr picked on the LR-finder plot wins,
// else the valley (then min-gradient) suggestion of an lr_find run on this dataset and learner,
// else the default. Opening a dataset, creating or loading a learner and starting a new lr_find
// forget the pick; suggestions from before the current learner are never offered. Plain Node.
import { DEFAULT_LR, type LrSpec } from '../protocol/lr';
import type { RunRecord } from './runs';

export type NextLrSource = 'picked' | 'valley' | 'minGrad' | 'default';

export interface NextLr {
  lr: LrSpec;
  source: NextLrSource;
}

/** Words for where the value comes from (prompt, sidebar, panel). */
export const NEXT_LR_SOURCE: Record<NextLrSource, string> = {
  picked: 'picked on the LR-finder plot',
  valley: 'LR-finder valley suggestion',
  minGrad: 'LR-finder min-gradient suggestion',
  default: "fastai's default",
};

export class NextMaxLr {
  private picked: LrSpec | undefined;
  /** When the current learner was made; older lr_find runs belong to another model. */
  private since = 0;

  constructor(
    private readonly runs: () => readonly RunRecord[],
    private readonly now: () => number = Date.now,
  ) {}

  /** The user picked a point or a range on the LR-finder plot. */
  pick(lr: LrSpec): void {
    this.picked = lr;
  }

  /** A new dataset or learner: picks and suggestions so far were for another model. */
  reset(): void {
    this.picked = undefined;
    this.since = this.now();
  }

  /** A new lr_find starts: its suggestion replaces an older pick. */
  forgetPick(): void {
    this.picked = undefined;
  }

  current(): NextLr {
    if (this.picked !== undefined) return { lr: this.picked, source: 'picked' };
    for (const r of this.runs()) {
      if (r.kind !== 'lr_find' || r.startedAt < this.since || !r.lrFind) continue;
      const s = r.lrFind.suggestions;
      if (s.valley != null && Number.isFinite(s.valley)) return { lr: s.valley, source: 'valley' };
      if (s.minGrad != null && Number.isFinite(s.minGrad)) return { lr: s.minGrad, source: 'minGrad' };
    }
    return { lr: DEFAULT_LR, source: 'default' };
  }
}
