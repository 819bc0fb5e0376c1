// Parses what users type for a learning rate: a number ("3e-3") or fastai's slice as "start:stop"
// ("1e-6:1e-4") or ":stop" (slice(stop)). Plain Node; used by Fit One Cycle's input box.

export type LrInput = number | { start?: number; stop: number };

export type LrParse = { ok: true; value: LrInput } | { ok: false; error: string };

const NUM = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function positive(text: string, what: string): number | string {
  const t = text.trim();
  if (!NUM.test(t)) return `${what} '${t}' is not a number (examples: 3e-3, 0.001)`;
  const v = Number(t);
  if (!(v > 0) || !Number.isFinite(v)) return `${what} must be greater than 0`;
  return v;
}

export function parseLr(text: string): LrParse {
  const t = text.trim();
  if (!t) return { ok: false, error: 'enter a learning rate such as 3e-3, or a range start:stop such as 1e-6:1e-4' };
  const parts = t.split(':');
  if (parts.length > 2) return { ok: false, error: `'${t}' has more than one ':'; use start:stop` };
  if (parts.length === 1) {
    const v = positive(parts[0], 'learning rate');
    return typeof v === 'string' ? { ok: false, error: v } : { ok: true, value: v };
  }
  const stop = positive(parts[1], 'stop');
  if (typeof stop === 'string') return { ok: false, error: stop };
  if (parts[0].trim() === '') return { ok: true, value: { stop } };
  const start = positive(parts[0], 'start');
  if (typeof start === 'string') return { ok: false, error: start };
  if (start > stop) return { ok: false, error: `start ${start} is above stop ${stop}; the earlier layer groups get the smaller rate` };
  return { ok: true, value: { start, stop } };
}

/** The inverse of parseLr, for pre-filling the input box. */
export function formatLr(value: LrInput): string {
  const n = (x: number) => String(Number(x.toPrecision(3)));
  if (typeof value === 'number') return n(value);
  return `${value.start !== undefined ? n(value.start) : ''}:${n(value.stop)}`;
}
