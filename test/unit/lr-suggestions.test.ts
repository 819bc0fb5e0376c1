// lr_find's four v2 suggestions on a fixed loss curve. The expected points come from a numpy
// transcription of fastai/callback/schedule.py's valley, slide, minimum and steep run on the same
// curve and the same window (recorder[num_it//10:-5]) — not from this code's output:
//   window 75 points; valley → run index 47, slide → 40, minimum → lr[74]/10, steep → 46.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { minimum, slide, steep, suggestLrs, suggestionWindow, valley } from '../../src/trainer/learner/suggestions';
import { LrSuggestions } from '../../src/protocol/runs';

const NUM_IT = 100;
const lrs = Array.from({ length: 90 }, (_, i) => 1e-7 * (10 / 1e-7) ** (i / NUM_IT));
const losses = lrs.map((_, i) => 2.3 - 1.5 / (1 + Math.exp(-(i - 45) / 6)) + (i < 75 ? 0 : 0.08 * (i - 75) ** 2) + 0.01 * Math.sin(i));

function near(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(actual != null && Math.abs(actual - expected) <= 1e-12 * expected, `${what}: ${actual} ≠ ${expected}`);
}

test('valley, slide, minimum and steep match fastai v2 on a fixed curve', () => {
  const w = suggestionWindow(lrs, losses, NUM_IT);
  assert.equal(w.lrs.length, 75);
  near(valley(w.lrs, w.losses), lrs[47], 'valley');
  near(slide(w.lrs, w.losses), lrs[40], 'slide');
  near(minimum(w.lrs, w.losses), lrs[74] / 10, 'minimum');
  near(steep(w.lrs, w.losses), lrs[46], 'steep');
  const all = LrSuggestions.parse(suggestLrs(lrs, losses, NUM_IT));
  near(all.valley, lrs[47], 'suggestLrs valley');
  near(all.slide, lrs[40], 'suggestLrs slide');
  assert.ok(all.minGrad !== null);
});

test('the window drops num_it//10 at the start, 5 at the end and everything from the first NaN', () => {
  const withNan = [...losses];
  withNan[60] = NaN;
  const w = suggestionWindow(lrs, withNan, NUM_IT);
  assert.deepEqual([w.lrs.length, w.lrs[0]], [50, lrs[10]]);
  assert.ok(w.losses.every(Number.isFinite));
  // too short for slide's 15-point window; the others still answer
  const s = suggestLrs(lrs.slice(0, 25), losses.slice(0, 25), NUM_IT);
  assert.equal(s.slide, null);
  assert.ok(s.valley !== null && s.minimum !== null && s.steep !== null);
  assert.deepEqual(suggestLrs([], [], NUM_IT), { minGrad: null, valley: null, slide: null, minimum: null, steep: null });
});
