// lr_find suggestions computed from the smoothed-loss curve: fastai v2's valley (the default),
// slide, minimum and steep (callback/schedule.py), and v1's minimum numerical gradient.
import type { LrSuggestions } from '../../protocol/runs';

/** numpy.gradient with unit spacing: central differences inside, one-sided at the ends. */
export function numericalGradient(ys: readonly number[]): number[] {
  const n = ys.length;
  if (n < 2) return [];
  return ys.map((_, i) => (i === 0 ? ys[1] - ys[0] : i === n - 1 ? ys[n - 1] - ys[n - 2] : (ys[i + 1] - ys[i - 1]) / 2));
}

/**
 * fastai v1 recorder.plot(suggestion=True): the lr where the smoothed loss falls fastest,
 * after dropping skipStart points at the start and skipEnd at the end. null when too few points.
 */
export function minGradLr(lrs: readonly number[], losses: readonly number[], skipStart = 10, skipEnd = 5): number | null {
  const end = Math.max(0, lrs.length - skipEnd);
  const l = lrs.slice(skipStart, end);
  const y = losses.slice(skipStart, end);
  const g = numericalGradient(y);
  let best = -1;
  for (let i = 0; i < g.length; i++) if (!Number.isNaN(g[i]) && (best < 0 || g[i] < g[best])) best = i;
  return best < 0 ? null : l[best];
}

/** The part of the sweep fastai v2's lr_find suggests from: num_it//10 points dropped at the start, 5 at the end, cut at the first NaN. */
export function suggestionWindow(lrs: readonly number[], losses: readonly number[], numIt: number): { lrs: number[]; losses: number[] } {
  const start = Math.floor(numIt / 10);
  const end = Math.max(start, lrs.length - 5);
  let l = lrs.slice(start, end);
  let y = losses.slice(start, end);
  const nan = y.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) {
    l = l.slice(0, nan);
    y = y.slice(0, nan);
  }
  return { lrs: l, losses: y };
}

/** fastai v2 `valley`: the point start + int(len/3) + int(len/3/2) along the longest decreasing run (longest decreasing subsequence). */
export function valley(lrs: readonly number[], losses: readonly number[]): number | null {
  const n = losses.length;
  if (n === 0) return null;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  // maxStart may be -1 (a run from the first point): Python's lrs[-1] is then the last point's lr.
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return lrs[idx < 0 ? n + idx : idx];
}

/**
 * fastai v2 `slide` (lr_diff 15, thresh 0.005, adjust_value 1): walk a window of lr_diff points
 * left from the end of the curve while the loss gradients (numpy.gradient) at its two ends differ
 * by more than thresh; the suggestion is the window's left end. null when the curve has no more than lr_diff points.
 */
export function slide(lrs: readonly number[], losses: readonly number[], lrDiff = 15, thresh = 0.005, adjustValue = 1): number | null {
  const n = losses.length;
  if (n < lrDiff + 1) return null;
  const g = numericalGradient(losses);
  let r = n - 1;
  let l = r - lrDiff;
  let localMin = lrs[l];
  while (l >= 0 && Math.abs(g[r] - g[l]) > thresh) {
    localMin = lrs[l];
    r -= 1;
    l -= 1;
  }
  return localMin * adjustValue;
}

/** fastai v2 `minimum`: a tenth of the lr with the lowest loss. */
export function minimum(lrs: readonly number[], losses: readonly number[]): number | null {
  if (losses.length === 0) return null;
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[best]) best = i;
  return lrs[best] / 10;
}

/** fastai v2 `steep`: the lr (left point) of the steepest fall of loss against log(lr). */
export function steep(lrs: readonly number[], losses: readonly number[]): number | null {
  if (losses.length < 2) return null;
  let best = -1;
  let bestGrad = Infinity;
  for (let i = 0; i + 1 < losses.length; i++) {
    const grad = (losses[i + 1] - losses[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i]));
    if (grad < bestGrad) {
      bestGrad = grad;
      best = i;
    }
  }
  return best < 0 ? null : lrs[best];
}

/** fastai v2 valley on lr_find's raw sweep (the suggestion window taken here). */
export function valleyLr(lrs: readonly number[], losses: readonly number[], numIt: number): number | null {
  const w = suggestionWindow(lrs, losses, numIt);
  return valley(w.lrs, w.losses);
}

/** Every suggestion of the sweep: fastai v2's four on its suggestion window, and v1's min gradient. */
export function suggestLrs(lrs: readonly number[], losses: readonly number[], numIt: number): LrSuggestions {
  const w = suggestionWindow(lrs, losses, numIt);
  const finite = lrs.map((lr, i) => [lr, losses[i]] as const).filter(([, l]) => Number.isFinite(l));
  return {
    minGrad: minGradLr(finite.map((p) => p[0]), finite.map((p) => p[1]), 10, 5),
    valley: valley(w.lrs, w.losses),
    slide: slide(w.lrs, w.losses),
    minimum: minimum(w.lrs, w.losses),
    steep: steep(w.lrs, w.losses),
  };
}
