// Learning-rate specs as fastai's lr_range reads them: a number, slice(stop) or slice(start, stop).
import type { LrSpec } from './types';

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

function parseLr(text: string, whole: string): number {
  const t = text.trim();
  const v = Number(t);
  if (t === '' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`Invalid learning rate '${whole}': '${t}' is not a positive number. Use e.g. 3e-3, 1e-4 (slice(stop)) as ':1e-4', or 1e-6:1e-4 for slice(start, stop)`);
  }
  return v;
}

/**
 * CLI form of an LrSpec: "3e-3" → 3e-3 for every group; ":1e-4" → slice(1e-4);
 * "1e-6:1e-4" → slice(1e-6, 1e-4). "slice(1e-6,1e-4)" is accepted too.
 */
export function parseLrSpec(text: string): LrSpec {
  const whole = text;
  let s = text.trim();
  const m = /^slice\((.*)\)$/.exec(s);
  if (m) s = m[1].includes(',') ? m[1].replace(',', ':') : `:${m[1]}`;
  if (!s.includes(':')) return parseLr(s, whole);
  const parts = s.split(':');
  if (parts.length !== 2) throw new Error(`Invalid learning rate '${whole}': use one colon, as in 1e-6:1e-4`);
  const stop = parseLr(parts[1], whole);
  if (parts[0].trim() === '') return { stop };
  const start = parseLr(parts[0], whole);
  if (start > stop) throw new Error(`Invalid learning rate '${whole}': start ${start} is above stop ${stop}; write the smaller rate first (start:stop)`);
  return { start, stop };
}

/** Largest lr of each group for display (fit_begin's lrs). */
export function describeLr(lr: LrSpec): string {
  if (typeof lr === 'number') return String(lr);
  return lr.start !== undefined ? `slice(${lr.start}, ${lr.stop})` : `slice(${lr.stop})`;
}
