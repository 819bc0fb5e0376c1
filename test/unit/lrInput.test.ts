import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLr, formatLr } from '../../src/extension/lrInput';

test('numbers and slices parse', () => {
  assert.deepEqual(parseLr('3e-3'), { ok: true, value: 3e-3 });
  assert.deepEqual(parseLr(' 0.01 '), { ok: true, value: 0.01 });
  assert.deepEqual(parseLr('1e-6:1e-4'), { ok: true, value: { start: 1e-6, stop: 1e-4 } });
  assert.deepEqual(parseLr(':1e-4'), { ok: true, value: { stop: 1e-4 } });
});

test('bad input explains itself', () => {
  for (const [input, re] of [
    ['', /enter a learning rate/],
    ['abc', /not a number/],
    ['0', /greater than 0/],
    ['-1', /not a number/],
    ['1e-4:1e-6', /above stop/],
    ['1:2:3', /more than one/],
    ['1e-3:', /not a number/],
  ] as const) {
    const r = parseLr(input);
    assert.equal(r.ok, false, input);
    assert.match((r as { error: string }).error, re, input);
  }
});

test('formatLr round-trips', () => {
  for (const s of ['0.003', '1e-6:0.0001', ':0.0001']) {
    const r = parseLr(s);
    assert.ok(r.ok);
    assert.deepEqual(parseLr(formatLr(r.value)), r);
  }
  assert.equal(formatLr(0.0012345), '0.00123');
});
