// The resnet + fastai-head model: names and layer groups, parameter counts against torchvision,
// seeded init, BatchNorm running statistics (torch momentum and unbiased variance), the custom
// BN gradient, dropout, and state-dict round trips.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { selectBackend, tf } from '../../src/trainer/backend';
import { createModel, ModelConfigError, type ArchName, type ClassifierModel } from '../../src/trainer/models';
import { BatchNorm, BatchNormSet } from '../../src/trainer/models/batchnorm';
import { ParamStore } from '../../src/trainer/models/params';
import { relativeL2 } from './models-helpers';

before(async () => {
  await selectBackend({ prefer: process.env.IMAGE_TRAINER_TEST_BACKEND });
});

const count = (m: ClassifierModel, pred: (name: string) => boolean) =>
  m.params.filter((p) => pred(p.name)).reduce((a, p) => a + p.variable.size, 0);
const param = (m: ClassifierModel, name: string) => m.params.find((p) => p.name === name)!.variable;
const input = (n: number, size: number, seed = 1) => tf.randomUniform([n, size, size, 3], -1, 1, 'float32', seed) as tf.Tensor4D;

test('parameter counts match torchvision (body = everything but fc) and the fastai head', () => {
  // torchvision totals minus fc (512·1000+1000, 2048·1000+1000)
  const bodies = { resnet18: 11_689_512 - 513_000, resnet34: 21_797_672 - 513_000, resnet50: 25_557_032 - 2_049_000 };
  for (const [arch, body] of Object.entries(bodies)) {
    const c = 37;
    const m = createModel({ arch: arch as 'resnet18', numClasses: c, seed: 0 });
    const nf2 = arch === 'resnet50' ? 4096 : 1024;
    assert.equal(count(m, (n) => n.startsWith('body.')), body, arch);
    assert.equal(count(m, (n) => n.startsWith('head.')), 2 * nf2 + (nf2 * 512 + 512) + 2 * 512 + (512 * c + c), arch);
    m.dispose();
  }
});

test('createModel options it cannot build are ModelConfigErrors that say what to pass', () => {
  const cases: [string, () => unknown, RegExp, RegExp][] = [
    ['unknown arch', () => createModel({ arch: 'resnet9000' as ArchName, numClasses: 3 }), /Unknown architecture 'resnet9000'/, /resnet18, resnet34, resnet50/],
    ['0 classes', () => createModel({ arch: 'resnet18', numClasses: 0 }), /numClasses .*\(got 0\)/, /1 or more/],
    ['ps 1', () => createModel({ arch: 'resnet18', numClasses: 3, ps: 1 }), /dropout probabilities .*\(got 0\.5, 1\)/, /from 0 up to/],
  ];
  for (const [name, make, message, fix] of cases) {
    assert.throws(make, (err: unknown) => {
      assert.ok(err instanceof ModelConfigError, `${name}: ${String(err)}`);
      assert.equal(err.name, 'ModelConfigError');
      assert.match(err.message, message, name);
      assert.match(err.fix ?? '', fix, name);
      return true;
    });
  }
});

test('layer groups: stem..layer2 → 0, layer3..layer4 → 1, head → 2; only BN weight/bias are isBn', () => {
  const m = createModel({ arch: 'resnet34', numClasses: 3, seed: 0 });
  try {
    assert.equal(m.layerGroupCount, 3);
    for (const p of m.params) {
      const expected = /^body\.(conv1|bn1|layer1|layer2)\./.test(p.name) ? 0 : /^body\.layer[34]\./.test(p.name) ? 1 : 2;
      assert.equal(p.group, expected, p.name);
      assert.equal(p.isBn, /(bn\d|downsample\.1|head\.[26])\.(weight|bias)$/.test(p.name), p.name);
    }
    assert.ok(m.buffers.has('body.layer3.0.downsample.1.running_var'));
    assert.ok(m.buffers.has('head.6.num_batches_tracked'));
    assert.deepEqual(param(m, 'body.conv1.weight').shape, [7, 7, 3, 64]);
    assert.deepEqual(param(m, 'head.4.weight').shape, [1024, 512]);
    assert.deepEqual(param(m, 'head.8.weight').shape, [512, 3]);
  } finally {
    m.dispose();
  }
});

test('init: seeded and reproducible; torchvision kaiming fan_out for convs, fastai kaiming fan_in for the head', () => {
  const a = createModel({ arch: 'resnet18', numClasses: 10, seed: 5 });
  const b = createModel({ arch: 'resnet18', numClasses: 10, seed: 5 });
  const c = createModel({ arch: 'resnet18', numClasses: 10, seed: 6 });
  try {
    assert.deepEqual(param(a, 'body.layer1.0.conv1.weight').dataSync(), param(b, 'body.layer1.0.conv1.weight').dataSync());
    assert.notDeepEqual(param(a, 'body.layer1.0.conv1.weight').dataSync(), param(c, 'body.layer1.0.conv1.weight').dataSync());
    const std = (v: tf.Variable) => Math.sqrt(tf.tidy(() => tf.moments(v).variance.dataSync()[0]));
    const near = (x: number, want: number) => assert.ok(Math.abs(x / want - 1) < 0.05, `std ${x} vs ${want}`);
    near(std(param(a, 'body.layer4.0.conv2.weight')), Math.sqrt(2 / (3 * 3 * 512)));
    near(std(param(a, 'head.4.weight')), Math.sqrt(2 / 1024));
    assert.deepEqual([...param(a, 'head.4.bias').dataSync()].filter((x) => x !== 0), []);
    assert.deepEqual([...param(a, 'head.2.weight').dataSync()].filter((x) => x !== 1), []);
  } finally {
    [a, b, c].forEach((m) => m.dispose());
  }
});

test('BatchNorm: a training forward + commitBatchStats updates running stats as torch (momentum 0.1, unbiased var)', () => {
  const m = createModel({ arch: 'resnet18', numClasses: 4, seed: 2 });
  try {
    const x = input(6, 32);
    const before = m.buffers.get('head.2.num_batches_tracked')!.dataSync()[0];
    m.forward(x, false).dispose();
    m.commitBatchStats(); // nothing pending after an eval forward
    assert.equal(m.buffers.get('head.2.num_batches_tracked')!.dataSync()[0], before);
    const f = m.features(x, true);
    const pooled = tf.concat([tf.max(f, [1, 2]), tf.mean(f, [1, 2])], 1);
    const { mean, variance } = tf.moments(pooled, 0);
    m.head(f, true).dispose();
    m.commitBatchStats();
    assert.ok(relativeL2(m.buffers.get('head.2.running_mean')!, tf.mul(mean, 0.1)) < 1e-5);
    assert.ok(relativeL2(m.buffers.get('head.2.running_var')!, tf.add(0.9, tf.mul(variance, 0.1 * 6 / 5))) < 1e-5);
    assert.equal(m.buffers.get('head.2.num_batches_tracked')!.dataSync()[0], before + 1);
    assert.equal(m.buffers.get('body.bn1.num_batches_tracked')!.dataSync()[0], before + 1);
    m.commitBatchStats(); // already committed: no second update
    assert.equal(m.buffers.get('body.bn1.num_batches_tracked')!.dataSync()[0], before + 1);
    tf.dispose([x, f, pooled, mean, variance]);
  } finally {
    m.dispose();
  }
});

test("the training BN's closed-form gradient equals tfjs autodiff of moments + batchNorm", () => {
  const store = new ParamStore();
  const bn = new BatchNorm(store, 'probe', 16, 0, new BatchNormSet());
  try {
    tf.tidy(() => {
      bn.gamma.assign(tf.randomUniform([16], 0.5, 1.5, 'float32', 3));
      bn.beta.assign(tf.randomUniform([16], -0.5, 0.5, 'float32', 4));
      const w = tf.variable(tf.randomNormal([3, 3, 3, 16], 0, 0.3, 'float32', 6));
      const x = input(4, 12, 9);
      const weights = tf.randomNormal([4, 6, 6, 16], 0, 1, 'float32', 5);
      const conv = () => tf.conv2d(x, w as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const vars = [w, bn.gamma, bn.beta];
      const reference = tf.variableGrads(() => {
        const y = conv();
        const { mean, variance } = tf.moments(y, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(y, mean, variance, bn.beta, bn.gamma, 1e-5), weights)) as tf.Scalar;
      }, vars);
      const ours = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(conv(), true), weights)) as tf.Scalar, vars);
      for (const v of vars) {
        const e = relativeL2(ours.grads[v.name], reference.grads[v.name]);
        assert.ok(e < 1e-5, `${v.name}: gradient relative error ${e}`);
      }
      assert.ok(Math.abs(ours.value.dataSync()[0] - reference.value.dataSync()[0]) < 1e-4 * (1 + Math.abs(reference.value.dataSync()[0])));
      w.dispose();
    });
  } finally {
    store.dispose();
  }
});

test('dropout only in training mode, seeded; eval is deterministic; any input size works', () => {
  const m = createModel({ arch: 'resnet18', numClasses: 3, seed: 8 });
  try {
    tf.tidy(() => {
      const x = input(4, 32);
      const e1 = m.forward(x, false).dataSync();
      const e2 = m.forward(x, false).dataSync();
      assert.deepEqual(e1, e2);
      const t1 = m.forward(x, true).dataSync();
      const t2 = m.forward(x, true).dataSync();
      assert.notDeepEqual(t1, t2);
      m.commitBatchStats();
      assert.deepEqual(m.forward(input(2, 64), false).shape, [2, 3]);
      assert.deepEqual(m.features(input(1, 70), false).shape, [1, 3, 3, 512]);
    });
  } finally {
    m.dispose();
  }
});

test('eval mode caches BN-folded weights and refolds after any parameter or running-stat change', () => {
  const a = createModel({ arch: 'resnet18', numClasses: 3, seed: 1 });
  const fresh = () => {
    const b = createModel({ arch: 'resnet18', numClasses: 3, seed: 7 });
    const state = a.stateDict();
    b.loadStateDict(state);
    tf.dispose([...state.values()]);
    return b;
  };
  try {
    tf.tidy(() => {
      const x = input(2, 32);
      const e1 = a.forward(x, false).dataSync();
      param(a, 'body.layer1.0.bn1.weight').assign(tf.mul(param(a, 'body.layer1.0.bn1.weight'), 2));
      a.forward(x, true);
      a.commitBatchStats(); // new running stats everywhere
      const e2 = a.forward(x, false);
      assert.notDeepEqual(e2.dataSync(), e1);
      const b = fresh();
      assert.ok(relativeL2(e2, b.forward(x, false)) < 1e-6);
      b.dispose();
      // under a gradient tape the unfolded graph runs: gradients reach conv weights and BN
      let unfolded: tf.Tensor | null = null;
      const g = tf.variableGrads(() => {
        const logits = a.forward(x, false);
        unfolded = tf.keep(tf.clone(logits));
        return tf.sum(logits) as tf.Scalar;
      }, [param(a, 'body.conv1.weight'), param(a, 'body.bn1.weight')]);
      assert.equal(Object.keys(g.grads).length, 2);
      const e = relativeL2(unfolded!, e2);
      assert.ok(e < 1e-5, `folded vs unfolded logits: ${e}`);
    });
  } finally {
    a.dispose();
  }
});

test('stateDict → loadStateDict reproduces predictions; mismatched state is refused with names', () => {
  const a = createModel({ arch: 'resnet18', numClasses: 3, seed: 1 });
  const b = createModel({ arch: 'resnet18', numClasses: 3, seed: 2 });
  const c = createModel({ arch: 'resnet18', numClasses: 5, seed: 2 });
  try {
    tf.tidy(() => {
      const x = input(2, 32);
      a.forward(x, true);
      a.commitBatchStats(); // non-trivial running stats
      const state = a.stateDict();
      b.loadStateDict(state);
      assert.deepEqual(b.forward(x, false).dataSync(), a.forward(x, false).dataSync());
      assert.throws(() => c.loadStateDict(state), /head\.8\.weight \(model \[512,5\], file \[512,3\]\)/);
      const partial = new Map(state);
      partial.delete('body.bn1.running_mean');
      assert.throws(() => b.loadStateDict(partial), /missing body\.bn1\.running_mean/);
      assert.doesNotThrow(() => b.loadStateDict(partial, { strict: false }));
      tf.dispose([...state.values()]);
    });
  } finally {
    [a, b, c].forEach((m) => m.dispose());
  }
});
