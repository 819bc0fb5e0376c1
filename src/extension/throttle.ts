// Rate-limits a stream of values to at most one emission per interval without ever dropping the
// latest one: the first value goes out at once, later values within the interval are coalesced and
// the most recent is emitted when the interval ends. Plain Node (unit-tested without VS Code).

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface Throttle<T> {
  /** Offer a value; it is emitted now or at the end of the current interval (if still the latest). */
  push(value: T): void;
  /** Emit the pending value now (e.g. before an event that must follow it in order). */
  flush(): void;
  /** Drop the pending value and stop the timer. */
  dispose(): void;
  readonly pending: boolean;
}

export function createThrottle<T>(emit: (value: T) => void, intervalMs: number, clock: Clock = systemClock): Throttle<T> {
  if (!(intervalMs > 0)) throw new RangeError(`throttle interval must be > 0 ms, got ${intervalMs}`);
  let lastEmit = -Infinity;
  let pending: { value: T } | undefined;
  let timer: unknown;

  const fire = () => {
    timer = undefined;
    if (!pending) return;
    const { value } = pending;
    pending = undefined;
    lastEmit = clock.now();
    emit(value);
  };

  return {
    push(value) {
      pending = { value };
      const wait = lastEmit + intervalMs - clock.now();
      if (wait <= 0 && timer === undefined) fire();
      else if (timer === undefined) timer = clock.setTimeout(fire, Math.max(0, wait));
    },
    flush() {
      if (timer !== undefined) clock.clearTimeout(timer);
      fire();
    },
    dispose() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
    get pending() {
      return pending !== undefined;
    },
  };
}

/** Max events per second the UI receives for high-rate progress events. */
export const UI_EVENTS_PER_SECOND = 10;

/**
 * Passes a mixed event stream through, throttling only the high-rate "progress" events. Any other
 * event first flushes a pending progress value, so order is kept and the last batch before an
 * epoch/end event is always delivered.
 */
export function createProgressGate<E>(
  isProgress: (event: E) => boolean,
  emit: (event: E) => void,
  intervalMs = 1000 / UI_EVENTS_PER_SECOND,
  clock: Clock = systemClock,
): { push(event: E): void; flush(): void; dispose(): void } {
  const progress = createThrottle<E>(emit, intervalMs, clock);
  return {
    push(event) {
      if (isProgress(event)) return progress.push(event);
      progress.flush();
      emit(event);
    },
    flush: () => progress.flush(),
    dispose: () => progress.dispose(),
  };
}
