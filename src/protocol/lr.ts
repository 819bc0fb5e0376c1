// The learning rate as every part of the product reads and writes it: a number for every layer
// group, or fastai's slice(stop) / slice(start, stop) for discriminative rates. One schema (with
// the start <= stop rule), one parser, one formatter, one default.
import { z } from 'zod';

/**
 * The max lr of fit / fit_one_cycle when none is given. fastai v2's fit_one_cycle defaults to
 * defaults.lr = 1e-3; this product keeps the lesson-era 3e-3 (fastai v1's fit_one_cycle
 * max_lr=slice(None, 0.003, None)), which the resnet34 fine-tuning in the lesson uses.
 */
export const DEFAULT_LR = 3e-3;

// The __PURE__ marks let a webview bundle that only formats rates drop zod (esbuild keeps a call
// it cannot prove unused).
export const LrSlice = /* @__PURE__ */ z
  .object({ start: z.number().positive().finite().optional(), stop: z.number().positive().finite() })
  .refine((s) => s.start === undefined || s.start <= s.stop, (s) => ({
    message: `start ${formatLrValue(s.start as number)} is above stop ${formatLrValue(s.stop)}; the earlier layer groups get the smaller rate, so write it first`,
    path: ['start'],
  }));

export const LrSpec = /* @__PURE__ */ z.union([/* @__PURE__ */ z.number().positive().finite(), LrSlice]);
export type LrSpec = z.infer<typeof LrSpec>;

export type LrParse = { ok: true; value: LrSpec } | { ok: false; error: string };

const NUMBER = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function positive(text: string, what: string): number | string {
  const t = text.trim();
  if (!NUMBER.test(t)) return `${what} '${t}' is not a number (examples: 3e-3, 0.001)`;
  const v = Number(t);
  if (!(v > 0) || !Number.isFinite(v)) return `${what} must be greater than 0`;
  return v;
}

/**
 * Reads what people type: `3e-3`; `start:stop` (`1e-6:1e-4`) or `slice(1e-6, 1e-4)` for
 * slice(start, stop); `:1e-4` or `slice(1e-4)` for slice(stop). Accepts everything formatLr prints.
 */
export function parseLr(text: string): LrParse {
  let t = text.trim();
  if (!t) return { ok: false, error: 'enter a learning rate such as 3e-3, or a range start:stop such as 1e-6:1e-4' };
  const slice = /^slice\((.*)\)$/.exec(t);
  if (slice) t = slice[1].includes(',') ? slice[1].replace(',', ':') : `:${slice[1]}`;
  const parts = t.split(':');
  if (parts.length > 2) return { ok: false, error: `'${text.trim()}' has more than one ':'; use one colon, as in start:stop (1e-6:1e-4)` };
  if (parts.length === 1) {
    const v = positive(parts[0], 'learning rate');
    return typeof v === 'string' ? { ok: false, error: v } : { ok: true, value: v };
  }
  const stop = positive(parts[1], 'stop');
  if (typeof stop === 'string') return { ok: false, error: stop };
  if (parts[0].trim() === '') return { ok: true, value: { stop } };
  const start = positive(parts[0], 'start');
  if (typeof start === 'string') return { ok: false, error: start };
  const checked = LrSlice.safeParse({ start, stop });
  if (!checked.success) return { ok: false, error: checked.error.issues[0]?.message ?? 'invalid range' };
  return { ok: true, value: { start, stop } };
}

/** One rate, short: 1e-3, 3.02e-4, 9.75e-6 (— when there is none). */
export function formatLrValue(lr: number | null | undefined): string {
  if (lr === null || lr === undefined || !Number.isFinite(lr)) return '—';
  return lr.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
}

/** `1e-3`, `slice(1e-4)` or `slice(9.75e-6, 1e-3)`; parseLr reads it back. */
export function formatLr(lr: LrSpec): string {
  if (typeof lr === 'number') return formatLrValue(lr);
  return lr.start !== undefined ? `slice(${formatLrValue(lr.start)}, ${formatLrValue(lr.stop)})` : `slice(${formatLrValue(lr.stop)})`;
}

/** Per-group max lrs (fit_begin's lrs) as the spec that gives them: one value, or slice(first, last). */
export function formatLrs(lrs: readonly number[]): string {
  if (!lrs.length) return '—';
  const first = lrs[0] as number;
  const last = lrs[lrs.length - 1] as number;
  return first === last ? formatLrValue(last) : formatLr({ start: first, stop: last });
}
