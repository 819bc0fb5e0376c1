import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createThrottle, createProgressGate, Clock } from '../../src/extension/throttle';

/** A manual clock: timers fire only when the test advances time. */
function fakeClock(): Clock & { advance(ms: number): void; timers: number } {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    get timers() {
      return timers.size;
    },
  };
}

test('first value is emitted immediately', () => {
  const clock = fakeClock();
  const out: number[] = [];
  const t = createThrottle<number>((v) => out.push(v), 100, clock);
  t.push(1);
  assert.deepEqual(out, [1]);
  assert.equal(t.pending, false);
});

test('a burst is coalesced and the last value arrives at the end of the interval', () => {
  const clock = fakeClock();
  const out: number[] = [];
  const t = createThrottle<number>((v) => out.push(v), 100, clock);
  for (let i = 1; i <= 50; i++) t.push(i);
  assert.deepEqual(out, [1]);
  clock.advance(99);
  assert.deepEqual(out, [1]);
  clock.advance(1);
  assert.deepEqual(out, [1, 50]);
  assert.equal(clock.timers, 0);
});

test('a steady 1000/s stream is limited to at most 10 emissions per second and ends on the last value', () => {
  const clock = fakeClock();
  const out: { v: number; at: number }[] = [];
  const t = createThrottle<number>((v) => out.push({ v, at: clock.now() }), 100, clock);
  for (let i = 0; i < 3000; i++) {
    t.push(i);
    clock.advance(1);
  }
  clock.advance(200);
  for (let s = 0; s < 3; s++) {
    const inSecond = out.filter((e) => e.at >= s * 1000 && e.at < (s + 1) * 1000).length;
    assert.ok(inSecond <= 10, `second ${s}: ${inSecond} emissions`);
  }
  assert.equal(out[out.length - 1].v, 2999);
  for (let i = 1; i < out.length; i++) assert.ok(out[i].at - out[i - 1].at >= 100, 'spacing ≥ interval');
});

test('flush emits the pending value now; dispose drops it', () => {
  const clock = fakeClock();
  const out: number[] = [];
  const t = createThrottle<number>((v) => out.push(v), 100, clock);
  t.push(1);
  t.push(2);
  t.flush();
  assert.deepEqual(out, [1, 2]);
  t.push(3);
  t.dispose();
  clock.advance(1000);
  assert.deepEqual(out, [1, 2]);
  assert.equal(clock.timers, 0);
});

test('slow values pass straight through', () => {
  const clock = fakeClock();
  const out: number[] = [];
  const t = createThrottle<number>((v) => out.push(v), 100, clock);
  for (let i = 0; i < 5; i++) {
    t.push(i);
    clock.advance(150);
  }
  assert.deepEqual(out, [0, 1, 2, 3, 4]);
});

test('rejects a non-positive interval', () => {
  assert.throws(() => createThrottle(() => {}, 0), /interval/);
});

type Ev = { type: 'batch'; step: number } | { type: 'epoch'; epoch: number };

test('progress gate: other events flush the pending progress first, keeping order', () => {
  const clock = fakeClock();
  const out: Ev[] = [];
  const gate = createProgressGate<Ev>((e) => e.type === 'batch', (e) => out.push(e), 100, clock);
  for (let s = 0; s < 20; s++) gate.push({ type: 'batch', step: s });
  gate.push({ type: 'epoch', epoch: 0 });
  assert.deepEqual(out, [
    { type: 'batch', step: 0 },
    { type: 'batch', step: 19 },
    { type: 'epoch', epoch: 0 },
  ]);
  clock.advance(500);
  assert.equal(out.length, 3, 'nothing left to emit');
});
