// fastai schedules: v1 cosine annealing for fit_one_cycle, v2 combined_cos for fine_tune, exponential for lr_find.

/** fastai annealing_cos: start at pct 0, end at pct 1. */
export function annealCos(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** fastai annealing_exp. */
export function annealExp(start: number, end: number, pct: number): number {
  return start * Math.pow(end / start, pct);
}

export interface OneCycleParams {
  /** Max lr per layer group. */
  maxLrs: number[];
  totalSteps: number;
  moms: [number, number];
  divFactor: number;
  pctStart: number;
  finalDiv: number;
}

export interface ScheduledValues {
  lrs: number[];
  mom: number;
}

/**
 * fastai v1 OneCycleScheduler: phase 1 has int(n·pct_start) steps (lr max/div → max, mom
 * moms[0] → moms[1]), phase 2 the rest (lr max → max/final_div, mom back to moms[0]). The value
 * used for batch i is the phase's cosine at i/len(phase), so the last batch stops one step short
 * of the end value, exactly as fastai steps its Scheduler after each batch.
 */
export function oneCycleAt(p: OneCycleParams, step: number): ScheduledValues {
  const a1 = Math.floor(p.totalSteps * p.pctStart);
  const a2 = p.totalSteps - a1;
  const [m0, m1] = p.moms;
  if (step < a1) {
    const pct = step / a1;
    return { lrs: p.maxLrs.map((mx) => annealCos(mx / p.divFactor, mx, pct)), mom: annealCos(m0, m1, pct) };
  }
  const pct = a2 > 0 ? (step - a1) / a2 : 1;
  return { lrs: p.maxLrs.map((mx) => annealCos(mx, mx / p.finalDiv, pct)), mom: annealCos(m1, m0, pct) };
}

/** lr_find's sweep: lr = start·(end/start)^(i/numIt) per group. */
export function lrFindAt(startLrs: number[], endLrs: number[], numIt: number, step: number): number[] {
  return startLrs.map((s, g) => annealExp(s, endLrs[g], step / numIt));
}

/** fastai v2 SchedCos: cosine from start (pos 0) to end (pos 1). */
export function schedCos(start: number, end: number, pos: number): number {
  return start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;
}

/**
 * fastai v2 combined_cos(pct, start, middle, end) at pos ∈ [0, 1): cosine start → middle over
 * [0, pct), middle → end over [pct, 1]. v2's ParamScheduler reads it at pos = train_iter / total
 * before each batch.
 */
export function combinedCos(pct: number, start: number, middle: number, end: number, pos: number): number {
  if (pos < pct) return schedCos(start, middle, pos / pct);
  return schedCos(middle, end, pct < 1 ? (pos - pct) / (1 - pct) : 1);
}

export interface V2OneCycleParams {
  maxLrs: number[];
  div: number; // 25
  divFinal: number; // 1e5
  pctStart: number; // 0.25
  moms: [number, number, number]; // (0.95, 0.85, 0.95)
}

/** fastai v2 fit_one_cycle's lr per group and momentum at pos = step / totalSteps. */
export function oneCycleV2At(p: V2OneCycleParams, pos: number): ScheduledValues {
  return {
    lrs: p.maxLrs.map((mx) => combinedCos(p.pctStart, mx / p.div, mx, mx / p.divFinal, pos)),
    mom: combinedCos(p.pctStart, p.moms[0], p.moms[1], p.moms[2], pos),
  };
}
