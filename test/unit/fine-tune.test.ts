// fine_tune against fastai v2's formulas. The expected lrs and moms were computed with a numpy
// transcription of fastai/callback/schedule.py (sched_cos, combine_scheds with float32 pcts,
// combined_cos, even_mults) for fine_tune(2, base_lr=1e-2) over 12 batches per epoch — not
// from this code's output.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/trainer/backend';
import { Learner } from '../../src/trainer/learner';
import { combinedCos } from '../../src/trainer/learner/schedule';
import { TrainerEvent } from '../../src/protocol/events';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData } from '../helpers/fake-data';

let dir = '';
before(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fine-tune-test-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** fastai positions within a phase in float32 (combine_scheds' pcts tensor): relative 1e-6. */
function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.abs(expected) + 1e-15, `${what}: ${actual} ≠ ${expected}`);
}

// [run step, lr per group, mom] from fastai v2
const EXPECTED: [number, number[], number][] = [
  // frozen phase: fit_one_cycle(1, slice(1e-2), pct_start=0.99): lr_max [1e-3, 1e-3, 1e-2], div 25, div_final 1e5
  [0, [4e-5, 4e-5, 4e-4], 0.95],
  [5, [0.0004019079040236127, 0.0004019079040236127, 0.004019079040236128], 0.9123012599975403],
  [11, [0.0009870615325043518, 0.0009870615325043518, 0.009870615325043517], 0.8513477570307967],
  // unfrozen: fit_one_cycle(2, slice(5e-5, 5e-3), pct_start=0.3, div=5): 24 batches, pos = i/24
  [12 + 0, [1e-5, 1e-4, 1e-3], 0.95],
  [12 + 7, [4.9923893562895703e-05, 0.0004992389356289571, 0.00499238935628957], 0.8501902660927607],
  [12 + 8, [4.972077348114595e-05, 0.0004972077348114596, 0.004972077348114595], 0.8505584586222943],
  [12 + 23, [4.363339765587571e-07, 4.363339765587585e-06, 4.363339765587563e-05], 0.9491283233301158],
];

test('fine_tune: both phases follow fastai v2 fit_one_cycle schedules, in one run with phased epoch rows', async () => {
  const events: TrainerEvent[] = [];
  const d = makeFakeData({ nTrain: 96, nValid: 24 });
  const l = new Learner({ data: d, model: createTinyModel({ numClasses: d.c, ps: [0, 0], seed: 3 }), path: dir, onEvent: (e) => events.push(e) });
  const frozenDuring: number[] = [];
  const bnWdDuring: boolean[] = [];
  const rows = await l.fineTune(2, {
    baseLr: 1e-2,
    callbacks: [{ beforeEpoch: (ctx) => void (frozenDuring.push(ctx.learner.frozenTo), bnWdDuring.push(ctx.learner.opt.bnWd)) }],
  });
  assert.equal(l.recorder.lrs.length, 36);
  for (const [step, lrs, mom] of EXPECTED) {
    lrs.forEach((v, g) => close(l.recorder.lrs[step][g], v, `lr of group ${g} at step ${step}`));
    close(l.recorder.moms[step], mom, `mom at step ${step}`);
  }
  // frozen for the first epoch (only the head trains), unfrozen for the other two; unfrozen at the end
  assert.deepEqual(frozenDuring, [2, 0, 0]);
  // v2's wd_bn_bias=False in both phases; the v1 verbs go back to bn_wd=True
  assert.deepEqual(bnWdDuring, [false, false, false]);
  assert.equal(l.frozenTo, 0);
  assert.deepEqual(rows.map((r) => r.phase), ['frozen', 'unfrozen', 'unfrozen']);
  for (const e of events) TrainerEvent.parse(e);
  assert.deepEqual(events.filter((e) => e.type === 'fit_begin').map((e) => e.type === 'fit_begin' && [e.kind, e.epochs, e.frozenEpochs, e.totalBatches]), [['fine_tune', 3, 1, 36]]);
  assert.deepEqual(events.filter((e) => e.type === 'epoch').map((e) => e.type === 'epoch' && e.phase), ['frozen', 'unfrozen', 'unfrozen']);
  assert.equal(events.filter((e) => e.type === 'fit_end').length, 1);
  let bnWdInFit: boolean | undefined;
  await l.fit(1, 1e-3, { callbacks: [{ beforeEpoch: (ctx) => void (bnWdInFit = ctx.learner.opt.bnWd) }] });
  assert.equal(bnWdInFit, true);
  l.dispose();
});

test('fine_tune with freezeEpochs 0 is one unfrozen cycle; bad arguments get clear errors', async () => {
  const d = makeFakeData({});
  const l = new Learner({ data: d, model: createTinyModel({ numClasses: d.c, ps: [0, 0], seed: 3 }), path: dir });
  const rows = await l.fineTune(1, { freezeEpochs: 0 });
  assert.deepEqual(rows.map((r) => r.phase), ['unfrozen']);
  close(l.recorder.lrs[0][2], 1e-3 / 5, 'first lr = base_lr/2/div');
  await assert.rejects(() => l.fineTune(1, { freezeEpochs: -1 }), /freezeEpochs must be a whole number ≥ 0/);
  await assert.rejects(() => l.fineTune(0), /epochs must be a whole number ≥ 1/);
  l.dispose();
});

test('combined_cos matches fastai v2 at the phase boundary and the ends', () => {
  close(combinedCos(0.25, 1, 10, 0, 0), 1, 'start');
  close(combinedCos(0.25, 1, 10, 0, 0.25), 10, 'middle at pct');
  close(combinedCos(0.25, 1, 10, 0, 1), 0, 'end');
  close(combinedCos(0.25, 1, 10, 0, 0.125), 5.5, 'half-way up');
});
