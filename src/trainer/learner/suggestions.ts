// lr_find suggestions computed from the smoothed-loss curve.

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

/**
 * fastai v2 `valley` (schedule.py): find the longest strictly decreasing run of the loss
 * (longest decreasing subsequence ending at each point) and take fastai's point along it,
 * start + int(len/3) + int(len/3/2) — on the curve fastai passes (num_it//10 dropped at the start, 5 at the end).
 */
export function valleyLr(lrs: readonly number[], losses: readonly number[], numIt: number): number | null {
  const start = Math.floor(numIt / 10);
  const end = Math.max(0, lrs.length - 5);
  const l = lrs.slice(start, end);
  const y = losses.slice(start, end);
  const n = y.length;
  if (n === 0) return null;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (y[i] < y[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return l[Math.min(Math.max(idx, 0), n - 1)];
}
