// fastai v2's MixUp(alpha): the mixed batch and loss against hand-computed values, the Beta
// sampler's moments, lam ≥ 0.5, and validation left alone.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/trainer/backend';
import { Rng } from '../../src/trainer/data/random';
import { Learner, MixUp, crossEntropyPerItem, mixBatch, mixedLoss, sampleBeta, sampleGamma, type Callback } from '../../src/trainer/learner';
import type { Batch } from '../../src/trainer/data/types';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData } from '../helpers/fake-data';

let dir = '';
before(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mixup-test-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function moments(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
  return { mean, variance: xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (xs.length - 1) };
}

test('mixBatch: item i becomes lam_i·x_i + (1 − lam_i)·x_shuffle(i), targets untouched', () => {
  // three 1×1 RGB images
  const batch: Batch = { x: Float32Array.from([1, 2, 3, 10, 20, 30, -4, 0, 4]), y: Int32Array.from([0, 1, 2]), n: 3, size: 1, files: ['a', 'b', 'c'] };
  const mixed = mixBatch(batch, [0.75, 0.5, 0.9], [2, 0, 1]);
  const expected = [
    0.75 * 1 + 0.25 * -4, 0.75 * 2 + 0.25 * 0, 0.75 * 3 + 0.25 * 4,
    0.5 * 10 + 0.5 * 1, 0.5 * 20 + 0.5 * 2, 0.5 * 30 + 0.5 * 3,
    0.9 * -4 + 0.1 * 10, 0.9 * 0 + 0.1 * 20, 0.9 * 4 + 0.1 * 30,
  ];
  for (let k = 0; k < expected.length; k++) assert.ok(Math.abs(mixed.x[k] - expected[k]) < 1e-6, `x[${k}] = ${mixed.x[k]}, want ${expected[k]}`);
  assert.deepEqual(Array.from(mixed.y), [0, 1, 2]);
  assert.deepEqual(Array.from(batch.x.slice(0, 3)), [1, 2, 3], 'the loader’s batch is not written to');
});

test('mixedLoss: per item lerp(CE(pred, y[shuffle]), CE(pred, y), lam), mean over the batch', () => {
  const z = [
    [2, 0, -1],
    [0.5, 1.5, 0],
  ];
  const y = [0, 2];
  const lam = [0.8, 0.6];
  const shuffle = [1, 0];
  const ce = (row: number[], t: number) => Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[t];
  const want = z.map((row, i) => lam[i] * ce(row, y[i]) + (1 - lam[i]) * ce(row, y[shuffle[i]]));
  const out = mixedLoss(crossEntropyPerItem, lam, shuffle)(tf.tensor2d(z), tf.tensor1d(y, 'int32'));
  const got = Array.from(out.dataSync());
  out.dispose();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `item ${i}: ${got[i]} vs ${want[i]}`);
  const mean = (want[0] + want[1]) / 2;
  assert.ok(Math.abs((got[0] + got[1]) / 2 - mean) < 1e-5);
});

test('Beta(a, a) from two Marsaglia–Tsang Gammas: mean a/(2a), variance a²/((2a)²(2a+1))', () => {
  for (const [a, b] of [
    [0.4, 0.4],
    [2, 2],
    [2, 5],
  ]) {
    const rng = new Rng(7, a * 10, b);
    const xs = Array.from({ length: 40_000 }, () => sampleBeta(rng, a, b));
    const m = moments(xs);
    const mean = a / (a + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    assert.ok(xs.every((x) => x >= 0 && x <= 1));
    // standard error of the mean is √(var/n) ≈ 0.002; of the variance a few 1e-3
    assert.ok(Math.abs(m.mean - mean) < 0.01, `Beta(${a},${b}) mean ${m.mean} vs ${mean}`);
    assert.ok(Math.abs(m.variance - variance) < 0.006, `Beta(${a},${b}) variance ${m.variance} vs ${variance}`);
  }
  const rng = new Rng(3);
  for (const shape of [0.4, 1, 3.5]) {
    const g = moments(Array.from({ length: 40_000 }, () => sampleGamma(rng, shape)));
    assert.ok(Math.abs(g.mean - shape) < 0.05 * Math.max(1, shape), `Gamma(${shape}) mean ${g.mean}`);
    assert.ok(Math.abs(g.variance - shape) < 0.1 * Math.max(1, shape), `Gamma(${shape}) variance ${g.variance}`);
  }
});

test('MixUp lam is max(lam, 1 − lam) ≥ 0.5, and one seed repeats its draws', () => {
  const lams = new MixUp({ alpha: 0.4, seed: 1 }).sampleLam(10_000);
  assert.ok(lams.every((l) => l >= 0.5 && l <= 1));
  // the folded Beta(0.4, 0.4) has mean 0.5 + E|lam − 0.5| > 0.5: it mixes
  assert.ok(moments(lams).mean > 0.7 && moments(lams).mean < 0.9, String(moments(lams).mean));
  assert.deepEqual(new MixUp({ seed: 9 }).sampleLam(5), new MixUp({ seed: 9 }).sampleLam(5));
  assert.throws(() => new MixUp({ alpha: 0 }), /alpha/);
});

test('in a fit, MixUp mixes the training batches only; validation and its loss are untouched', async () => {
  const d = makeFakeData({ nTrain: 32, nValid: 16 });
  const l = new Learner({ data: d, model: createTinyModel({ numClasses: d.c, ps: [0, 0], seed: 5 }), path: dir });
  l.addTrainingCallbacks({ mixup: 0.4, seed: 3, csvLog: false });
  const mix = l.getCallback(MixUp)!;
  const plainLoss = l.lossFunc;
  let trainChecked = 0;
  let validChecked = 0;
  const originals: Batch[] = [];
  // runs before MixUp (order −1) to keep the loader's batch, and after it (order 1) to see the mixed one
  const keep: Callback = { order: -1, beforeBatch: (ctx) => void originals.push(ctx.batch!) };
  const spy: Callback = {
    order: 1,
    beforeBatch: (ctx) => {
      const original = originals.at(-1)!;
      if (ctx.training) {
        const want = mixBatch(original, mix.lam, mix.shuffle);
        assert.deepEqual(Array.from(ctx.batch!.x), Array.from(want.x));
        assert.notDeepEqual(Array.from(ctx.batch!.x), Array.from(original.x));
        assert.deepEqual(Array.from(ctx.batch!.y), Array.from(original.y), 'metrics read the un-mixed targets');
        assert.notEqual(ctx.learner.lossFunc, plainLoss);
        trainChecked += 1;
      } else {
        assert.equal(ctx.batch, original, 'validation batch is the loader’s');
        assert.equal(ctx.learner.lossFunc, plainLoss, 'validation loss is the plain loss');
        validChecked += 1;
      }
    },
  };
  const rows = await l.fit(1, 1e-3, { callbacks: [keep, spy] });
  assert.equal(trainChecked, d.train.length);
  assert.equal(validChecked, d.valid.length);
  assert.equal(l.lossFunc, plainLoss, 'the loss is restored after the fit');
  const v = await l.validate();
  assert.ok(Math.abs(v.validLoss - rows[0].validLoss!) < 1e-5, `valid loss ${rows[0].validLoss} is the un-mixed ${v.validLoss}`);
  l.dispose();
});
