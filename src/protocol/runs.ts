// A training run's shapes: its kind and status, one epoch's record (fastai's results table row)
// and lr_find's answer. The events, the request results, the run history and metrics.json use these.
import { z } from 'zod';

export const RunKind = z.enum(['fit', 'fit_one_cycle', 'fine_tune', 'lr_find']);
export type RunKind = z.infer<typeof RunKind>;

/** How a run ended (fit_end); a run record is 'running' until then. */
export const RunEndStatus = z.enum(['completed', 'stopped', 'failed']);
export type RunEndStatus = z.infer<typeof RunEndStatus>;
export const RunStatus = z.enum(['running', ...RunEndStatus.options]);
export type RunStatus = z.infer<typeof RunStatus>;

/** One epoch: fastai's results table row plus the throughput. */
export const EpochRecord = z.object({
  epoch: z.number().int(),
  trainLoss: z.number(),
  validLoss: z.number().nullable(),
  errorRate: z.number().nullable(),
  accuracy: z.number().nullable(),
  seconds: z.number(),
  trainImagesPerSecond: z.number(),
  /** fine_tune's phase of this epoch (body frozen, then unfrozen); absent in other runs. */
  phase: z.enum(['frozen', 'unfrozen']).optional(),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

/**
 * lr_find's suggested rates: fastai v2's valley (its default), slide, minimum (a tenth of the
 * lowest-loss lr) and steep, and v1's minimum numerical gradient. null when the sweep is too
 * short for one; the v2 ones are absent in runs recorded before they existed.
 */
export const LrSuggestions = z.object({
  minGrad: z.number().nullable(),
  valley: z.number().nullable(),
  slide: z.number().nullable().optional(),
  minimum: z.number().nullable().optional(),
  steep: z.number().nullable().optional(),
});
export type LrSuggestions = z.infer<typeof LrSuggestions>;

export const LrFindResult = z.object({
  lrs: z.array(z.number()),
  losses: z.array(z.number()), // smoothed
  suggestions: LrSuggestions,
});
export type LrFindResult = z.infer<typeof LrFindResult>;

/** One epoch as the run history and the panels keep it: the record without the throughput figure. */
export const EpochRow = EpochRecord.omit({ trainImagesPerSecond: true });
export type EpochRow = z.infer<typeof EpochRow>;
