// The one learning-rate module (src/protocol/lr.ts): what people type, what every part prints,
// and the schema that crosses the process and webview boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LR, LrSpec, formatLr, formatLrs, formatLrValue, parseLr } from '../../src/protocol/lr';

test('numbers, start:stop, :stop and fastai slice() all parse', () => {
  assert.deepEqual(parseLr('3e-3'), { ok: true, value: 3e-3 });
  assert.deepEqual(parseLr(' 0.01 '), { ok: true, value: 0.01 });
  assert.deepEqual(parseLr('1e-6:1e-4'), { ok: true, value: { start: 1e-6, stop: 1e-4 } });
  assert.deepEqual(parseLr(':1e-4'), { ok: true, value: { stop: 1e-4 } });
  assert.deepEqual(parseLr('slice(1e-6, 1e-4)'), { ok: true, value: { start: 1e-6, stop: 1e-4 } });
  assert.deepEqual(parseLr('slice(1e-4)'), { ok: true, value: { stop: 1e-4 } });
});

test('bad input explains itself', () => {
  for (const [input, re] of [
    ['', /enter a learning rate/],
    ['abc', /'abc' is not a number/],
    ['fast', /not a number \(examples: 3e-3/],
    ['0', /greater than 0/],
    ['-1', /not a number/],
    ['1e-4:1e-6', /start 1e-4 is above stop 1e-6; the earlier layer groups get the smaller rate/],
    ['slice(1e-4, 1e-6)', /above stop/],
    ['1:2:3', /more than one ':'/],
    ['1e-3:', /stop '' is not a number/],
  ] as const) {
    const r = parseLr(input);
    assert.equal(r.ok, false, input);
    assert.match((r as { error: string }).error, re, input);
  }
});

test('one formatter: 1e-3 for a value, slice(9.75e-6, 1e-3) for a range, and parseLr reads it back', () => {
  assert.equal(formatLrValue(0.001), '1e-3');
  assert.equal(formatLrValue(3.02e-4), '3.02e-4');
  assert.equal(formatLrValue(0.0012345), '1.23e-3');
  assert.equal(formatLrValue(1), '1e0');
  assert.equal(formatLr(1e-3), '1e-3');
  assert.equal(formatLr({ start: 9.75e-6, stop: 1e-3 }), 'slice(9.75e-6, 1e-3)');
  assert.equal(formatLr({ stop: 1e-4 }), 'slice(1e-4)');
  for (const lr of [3e-3, { start: 1e-6, stop: 1e-4 }, { stop: 1e-4 }] as const) assert.deepEqual(parseLr(formatLr(lr)), { ok: true, value: lr });
  assert.equal(formatLrs([1e-5, 1e-4, 1e-3]), 'slice(1e-5, 1e-3)');
  assert.equal(formatLrs([3e-3, 3e-3]), '3e-3');
});

test('the schema that crosses boundaries holds the start <= stop rule', () => {
  assert.ok(LrSpec.safeParse(3e-3).success);
  assert.ok(LrSpec.safeParse({ stop: 1e-4 }).success);
  assert.ok(LrSpec.safeParse({ start: 1e-4, stop: 1e-4 }).success);
  assert.equal(LrSpec.safeParse({ start: 1e-3, stop: 1e-5 }).success, false);
  assert.equal(LrSpec.safeParse(-1).success, false);
  assert.equal(LrSpec.safeParse(Infinity).success, false);
});

test('the default max lr is the one the product documents', () => {
  assert.equal(DEFAULT_LR, 3e-3);
});
