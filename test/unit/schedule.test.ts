import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { annealCos, lrFindAt, oneCycleAt } from '../../src/trainer/learner/schedule';
import { evenMults, lrRange } from '../../src/trainer/learner/lr';
import { minGradLr, numericalGradient, valleyLr } from '../../src/trainer/learner/suggestions';
import { SmoothedValue } from '../../src/trainer/learner/smooth';

const close = (a: number, b: number, rel = 1e-12) => assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300), `${a} ≉ ${b}`);

test('annealCos goes from start to end along a half cosine', () => {
  close(annealCos(1, 0, 0), 1);
  close(annealCos(1, 0, 0.5), 0.5);
  close(annealCos(1, 0, 1), 0);
  close(annealCos(0.95, 0.85, 0.25), 0.85 + 0.05 * (Math.cos(Math.PI / 4) + 1));
});

test('one-cycle: fastai v1 values at the first step, end of warm-up, middle of phase 2 and last step', () => {
  const maxLr = 3e-3;
  const p = { maxLrs: [maxLr / 10, maxLr], totalSteps: 100, moms: [0.95, 0.85] as [number, number], divFactor: 25, pctStart: 0.3, finalDiv: 25e4 };
  const a1 = Math.floor(100 * 0.3); // 30 warm-up steps
  // first step: max/div, mom 0.95
  let v = oneCycleAt(p, 0);
  close(v.lrs[1], maxLr / 25);
  close(v.lrs[0], maxLr / 10 / 25);
  close(v.mom, 0.95);
  // last warm-up step: one cosine step short of max
  v = oneCycleAt(p, a1 - 1);
  close(v.lrs[1], maxLr + (maxLr / 25 - maxLr) / 2 * (Math.cos(Math.PI * (29 / 30)) + 1));
  // first step of phase 2: exactly max lr, mom at its low 0.85
  v = oneCycleAt(p, a1);
  close(v.lrs[1], maxLr);
  close(v.mom, 0.85);
  // middle of phase 2 (35 of 70 steps): halfway on the cosine
  v = oneCycleAt(p, a1 + 35);
  close(v.lrs[1], maxLr / 25e4 + (maxLr - maxLr / 25e4) / 2);
  close(v.mom, 0.9);
  // last step: cos at 69/70 of phase 2
  v = oneCycleAt(p, 99);
  const pct = 69 / 70;
  close(v.lrs[1], maxLr / 25e4 + ((maxLr - maxLr / 25e4) / 2) * (Math.cos(Math.PI * pct) + 1));
  close(v.mom, 0.95 + ((0.85 - 0.95) / 2) * (Math.cos(Math.PI * pct) + 1));
});

test('one-cycle with int(n·pct_start) = 0 starts in phase 2', () => {
  const v = oneCycleAt({ maxLrs: [1], totalSteps: 3, moms: [0.95, 0.85], divFactor: 25, pctStart: 0.3, finalDiv: 1e4 }, 0);
  close(v.lrs[0], 1);
});

test('lr_find sweep is exponential from start to end', () => {
  close(lrFindAt([1e-7], [10], 100, 0)[0], 1e-7);
  close(lrFindAt([1e-7], [10], 100, 50)[0], 1e-7 * Math.pow(1e8, 0.5), 1e-9);
  close(lrFindAt([1e-7], [10], 100, 100)[0], 10, 1e-9);
});

test('lrRange: number, slice(stop), slice(start, stop)', () => {
  assert.deepEqual(lrRange(3e-3, 3), [3e-3, 3e-3, 3e-3]);
  assert.deepEqual(lrRange({ stop: 1e-3 }, 3), [1e-4, 1e-4, 1e-3]);
  const r = lrRange({ start: 1e-6, stop: 1e-4 }, 3);
  close(r[0], 1e-6);
  close(r[1], 1e-5, 1e-9);
  close(r[2], 1e-4, 1e-9);
  const m = evenMults(1e-6, 1e-2, 5);
  m.forEach((v, i) => close(v, 1e-6 * Math.pow(10, i), 1e-9));
});

test('smoothed loss: EMA β 0.98 with bias correction', () => {
  const s = new SmoothedValue(0.98);
  close(s.add(2), 2);
  const mov = 0.98 * 0.02 * 2 + 0.02 * 4;
  close(s.add(4), mov / (1 - 0.98 ** 2));
});

test('numerical gradient matches numpy.gradient', () => {
  assert.deepEqual(numericalGradient([1, 2, 4, 7]), [1, 1.5, 2.5, 3]);
});

test('minGrad suggestion: steepest descent after skipping 10 at the start and 5 at the end', () => {
  const lrs = Array.from({ length: 40 }, (_, i) => 10 ** (-7 + i / 5));
  const losses = lrs.map((_, i) => (i < 20 ? 2 : i === 20 ? 1.9 : i === 21 ? 1.0 : 0.9 - (i - 22) * 0.001));
  // numpy.gradient: i=20 (1.0-2)/2 = -0.5 ties i=21 (0.9-1.9)/2 = -0.5; argmin takes the first, as fastai's
  const g = minGradLr(lrs, losses);
  assert.equal(g, lrs[20]);
  const steeper = losses.map((l, i) => (i === 22 ? 0.2 : l)); // now i=21: (0.2-1.9)/2 = -0.85 is the steepest
  assert.equal(minGradLr(lrs, steeper), lrs[21]);
  assert.equal(minGradLr(lrs.slice(0, 12), losses.slice(0, 12)), null);
  // a steep drop only inside the skipped start is ignored
  const l2 = lrs.map((_, i) => (i < 5 ? 10 - i : 5 - i * 0.01));
  assert.notEqual(minGradLr(lrs, l2), lrs[2]);
});

test('valley suggestion: 2/3 along the longest decreasing run, as fastai v2', () => {
  // 100 iterations: flat, then a long fall from 20 to 70, then divergence
  const lrs = Array.from({ length: 90 }, (_, i) => 1e-7 * 10 ** (i / 10));
  const losses = lrs.map((_, i) => (i < 20 ? 3 + 0.001 * (i % 2) : i < 70 ? 3 - (i - 20) * 0.05 : 0.5 + (i - 70) * 0.5));
  const v = valleyLr(lrs, losses, 100);
  // fastai's arithmetic: skip num_it//10 = 10; longest decreasing run ends at local 59 with
  // length 51 (3.001, 3.0, then the fall), max_start = 8, sections = 17 → local 8+17+8 = 33.
  assert.equal(lrs.indexOf(v as number), 10 + 33);
  assert.equal(valleyLr([], [], 100), null);
});
