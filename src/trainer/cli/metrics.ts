// OUT/metrics.json: what a run measured, collected from the session's events so that a stopped
// or failed run still reports the epochs it finished.
import { z } from 'zod';
import { BackendInfo, ComputePrecision, type TrainerEvent } from '../../protocol/events';
import { beginRun, reduceRun, type RunState } from '../../protocol/run-reducer';
import { LrFindResult } from '../../protocol/runs';
import { writeJsonAtomic } from '../io/atomic-write';

export const EpochMetrics = z.object({
  epoch: z.number().int(),
  train_loss: z.number(),
  valid_loss: z.number().nullable(),
  error_rate: z.number().nullable(),
  seconds: z.number(),
  train_images_per_second: z.number(),
  phase: z.enum(['frozen', 'unfrozen']).optional(), // fine_tune's phase of the epoch
});

export const LrFindMetrics = LrFindResult;

/** How the run ended: completed, stopped (Ctrl-C / SIGTERM) or failed (an error, in `error`). */
export const RunOutcome = z.enum(['running', 'completed', 'stopped', 'failed']);
export type RunOutcome = z.infer<typeof RunOutcome>;

export const Metrics = z.object({
  status: RunOutcome,
  /** The epochs that finished (each one is a row of `epochs`). */
  epochs_completed: z.number().int(),
  /** The checkpoint this run wrote, relative to the run folder (models/<name>.safetensors), or null when it wrote none. */
  checkpoint: z.string().nullable(),
  error: z.string().optional(),
  backend: BackendInfo,
  /** What the fits computed convolutions and matmuls in (--fp16 / --bf16 where the backend can, else fp32). */
  precision: ComputePrecision.optional(),
  classes: z.array(z.string()),
  train_count: z.number().int(),
  valid_count: z.number().int(),
  epochs: z.array(EpochMetrics),
  lr_find: LrFindMetrics.optional(),
}).strict();
export type Metrics = z.infer<typeof Metrics>;

export class MetricsCollector {
  private backend?: BackendInfo;
  private classes: string[] = [];
  private trainCount = 0;
  private validCount = 0;
  private haveDataset = false;
  private precision?: ComputePrecision;
  /** This invocation's runs (train may fit twice: frozen, then unfrozen), folded by the run reducer. */
  private readonly runs: RunState[] = [];
  private outcome: { status: RunOutcome; checkpoint: string | null; error?: string } = { status: 'running', checkpoint: null };

  /** Set by the CLI once the learner exists (createLearner says what it computes in). */
  setPrecision(p: ComputePrecision): void {
    this.precision = p;
  }

  /** Set by the CLI when the run ends, before the last write: metrics.json then agrees with what is on disk. */
  setOutcome(o: { status: RunOutcome; checkpoint: string | null; error?: string }): void {
    this.outcome = o;
  }

  readonly onEvent = (e: TrainerEvent): void => {
    switch (e.type) {
      case 'backend':
        this.backend = e.backend;
        break;
      case 'dataset':
        this.haveDataset = true;
        this.classes = e.classes;
        this.trainCount = e.trainCount;
        this.validCount = e.validCount;
        break;
      case 'fit_begin':
        this.runs.push(beginRun(e));
        break;
      default:
        for (const run of this.runs) reduceRun(run, e);
        break;
    }
  };

  private get epochs(): z.infer<typeof EpochMetrics>[] {
    return this.runs.flatMap((r) =>
      r.epochRows.map((e) => ({
        epoch: e.epoch,
        train_loss: e.trainLoss,
        valid_loss: e.validLoss,
        error_rate: e.errorRate,
        seconds: e.seconds,
        train_images_per_second: e.trainImagesPerSecond,
        ...(e.phase ? { phase: e.phase } : {}),
      })),
    );
  }

  private get lrFind(): z.infer<typeof LrFindMetrics> | undefined {
    return this.runs.filter((r) => r.lrFind).at(-1)?.lrFind;
  }

  /** Null until the backend and the dataset are known: nothing worth writing before that. */
  snapshot(): Metrics | null {
    if (!this.backend || !this.haveDataset) return null;
    const epochs = this.epochs;
    const m: Metrics = {
      status: this.outcome.status,
      epochs_completed: epochs.length,
      checkpoint: this.outcome.checkpoint,
      ...(this.outcome.error !== undefined ? { error: this.outcome.error } : {}),
      backend: this.backend,
      ...(this.precision ? { precision: this.precision } : {}),
      classes: this.classes,
      train_count: this.trainCount,
      valid_count: this.validCount,
      epochs,
    };
    if (this.lrFind) m.lr_find = this.lrFind;
    return m;
  }

  get lastEpoch(): z.infer<typeof EpochMetrics> | undefined {
    return this.epochs.at(-1);
  }

  async write(file: string): Promise<boolean> {
    const m = this.snapshot();
    if (!m) return false;
    await writeJsonAtomic(file, m);
    return true;
  }
}
