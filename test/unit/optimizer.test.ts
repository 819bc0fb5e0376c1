import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tf } from '../../src/trainer/backend';
import { AdamW } from '../../src/trainer/learner/optimizer';
import { DynamicLossScaler } from '../../src/trainer/learner/loss-scaler';
import type { ModelParam } from '../../src/trainer/models/types';

test('AdamW step equals a hand computation (decoupled wd, bias correction, per-group lr and mom)', async () => {
  await tf.setBackend('cpu');
  const p0 = [1.0, -2.0];
  const q0 = [0.5];
  const params: ModelParam[] = [
    { name: 'a', variable: tf.variable(tf.tensor1d(p0)), group: 0, isBn: false },
    { name: 'b', variable: tf.variable(tf.tensor1d(q0)), group: 1, isBn: true },
  ];
  const opt = new AdamW(params, { nGroups: 2, wd: 0.1, eps: 1e-5, sqrMom: 0.99 });
  opt.lrs = [0.01, 0.1];
  opt.moms = [0.9, 0.8];
  const gradsSeq = [
    { a: [0.5, -1.0], b: [2.0] },
    { a: [0.1, 0.3], b: [-1.0] },
  ];
  // hand computation, in float64
  const hand = (x0: number[], gs: number[][], lr: number, mom: number) => {
    const x = [...x0];
    const m = x.map(() => 0);
    const v = x.map(() => 0);
    gs.forEach((g, t) => {
      const step = t + 1;
      for (let i = 0; i < x.length; i++) {
        m[i] = mom * m[i] + (1 - mom) * g[i];
        v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
        x[i] = x[i] * (1 - lr * 0.1);
        x[i] -= (lr / (1 - mom ** step)) * (m[i] / (Math.sqrt(v[i] / (1 - 0.99 ** step)) + 1e-5));
      }
    });
    return x;
  };
  for (const g of gradsSeq) {
    const ga = tf.tensor1d(g.a);
    const gb = tf.tensor1d(g.b);
    opt.step({ [params[0].variable.name]: ga, [params[1].variable.name]: gb });
    ga.dispose();
    gb.dispose();
  }
  const ea = hand(p0, gradsSeq.map((g) => g.a), 0.01, 0.9);
  const eb = hand(q0, gradsSeq.map((g) => g.b), 0.1, 0.8);
  const ga = Array.from(params[0].variable.dataSync());
  const gb = Array.from(params[1].variable.dataSync());
  ga.forEach((v, i) => assert.ok(Math.abs(v - ea[i]) < 1e-6, `a[${i}] ${v} vs ${ea[i]}`));
  gb.forEach((v, i) => assert.ok(Math.abs(v - eb[i]) < 1e-6, `b[${i}] ${v} vs ${eb[i]}`));

  // state round-trip
  const s = opt.getState();
  assert.deepEqual(s.steps, { a: 2, b: 2 });
  const opt2 = new AdamW(params, { nGroups: 2 });
  opt2.setState(s);
  const s2 = opt2.getState();
  assert.deepEqual(Array.from(s2.expAvg.get('a')!.dataSync()), Array.from(s.expAvg.get('a')!.dataSync()));
  assert.deepEqual(s2.steps, s.steps);
  for (const st of [s, s2]) for (const t of [...st.expAvg.values(), ...st.expAvgSq.values()]) t.dispose();
  opt.dispose();
  opt2.dispose();
  for (const p of params) p.variable.dispose();
});

test('AdamW without bnWd leaves BatchNorm params and biases undecayed; a param with no gradient is untouched', async () => {
  await tf.setBackend('cpu');
  const params: ModelParam[] = [
    { name: 'bn', variable: tf.variable(tf.tensor1d([1])), group: 0, isBn: true },
    { name: 'w', variable: tf.variable(tf.tensor1d([1])), group: 0, isBn: false },
    { name: 'fc.bias', variable: tf.variable(tf.tensor1d([1])), group: 0, isBn: false },
    { name: 'fc.weight', variable: tf.variable(tf.tensor1d([1])), group: 0, isBn: false },
  ];
  const opt = new AdamW(params, { nGroups: 1, wd: 0.5, bnWd: false });
  opt.lrs = [0.1];
  const g = tf.tensor1d([0]);
  opt.step({ [params[0].variable.name]: g, [params[2].variable.name]: g, [params[3].variable.name]: g });
  // zero gradient: only wd could move them, and it is off for BN and biases (fastai's norm_bias_params)
  assert.equal(params[0].variable.dataSync()[0], 1);
  assert.equal(params[1].variable.dataSync()[0], 1);
  assert.equal(params[2].variable.dataSync()[0], 1);
  assert.ok(Math.abs(params[3].variable.dataSync()[0] - (1 - 0.1 * 0.5)) < 1e-6, 'a weight is decayed: p·(1 − lr·wd)');
  assert.deepEqual(opt.getState().steps, { bn: 1, 'fc.bias': 1, 'fc.weight': 1 });
  g.dispose();
  opt.dispose();
  for (const p of params) p.variable.dispose();
});

test('dynamic loss scaler: backs off on overflow, grows after a clean run', () => {
  const s = new DynamicLossScaler({ initScale: 1024, growthInterval: 3 });
  assert.equal(s.update(true, 0), true);
  assert.equal(s.update(false, 1), false);
  assert.equal(s.scale, 512);
  assert.deepEqual(s.skipped, [1]);
  s.update(true);
  s.update(true);
  assert.equal(s.scale, 512);
  s.update(true);
  assert.equal(s.scale, 1024);
  const t = new DynamicLossScaler({ initScale: 2, minScale: 1 });
  t.update(false);
  t.update(false);
  assert.equal(t.scale, 1);
  const u = new DynamicLossScaler({ initScale: 2 ** 24, growthInterval: 1 });
  u.update(true);
  assert.equal(u.scale, 2 ** 24);
});
