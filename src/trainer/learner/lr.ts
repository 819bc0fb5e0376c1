// Learning-rate specs as fastai's lr_range reads them: a number, slice(stop) or slice(start, stop).
import type { LrSpec } from '../../protocol/lr';

/** fastai even_mults: n values from start to stop, evenly spaced on a log scale. */
export function evenMults(start: number, stop: number, n: number): number[] {
  if (n <= 1) return [stop];
  const step = Math.pow(stop / start, 1 / (n - 1));
  return Array.from({ length: n }, (_, i) => start * Math.pow(step, i));
}

/** One learning rate per layer group, as fastai's Learner.lr_range. */
export function lrRange(lr: LrSpec, nGroups: number): number[] {
  if (typeof lr === 'number') return new Array<number>(nGroups).fill(lr);
  if (lr.start !== undefined && lr.start > 0) return evenMults(lr.start, lr.stop, nGroups);
  return [...new Array<number>(Math.max(0, nGroups - 1)).fill(lr.stop / 10), lr.stop];
}
