// The Learner driving the real resnet18 on the best backend present: a few steps at a tiny size,
// checking the training step, freeze and checkpoints hold with the production model.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { selectBackend, tf } from '../../src/trainer/backend';
import { createModel } from '../../src/trainer/models';
import { Learner } from '../../src/trainer/learner';
import { makeFakeData } from '../helpers/fake-data';

test('resnet18: frozen and unfrozen steps, no tensor leak, lr_find restores exactly, save → load identical logits', async () => {
  const info = await selectBackend({ threads: 1 });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'learner-resnet-'));
  const data = makeFakeData({ size: 32, bs: 4, nTrain: 8, nValid: 4 });
  const model = createModel({ arch: 'resnet18', numClasses: data.c, ps: [0, 0], seed: 1 });
  const l = new Learner({ data, model, path: dir });
  l.freeze();
  const conv = model.params.find((p) => p.group === 0 && !p.isBn)!;
  const bn = model.params.find((p) => p.group === 0 && p.isBn)!;
  const conv0 = conv.variable.dataSync().slice();
  const bn0 = bn.variable.dataSync().slice();
  await l.fit(1, 1e-3);
  assert.deepEqual(conv.variable.dataSync(), conv0, `frozen conv unchanged on ${info.name}`);
  assert.notDeepEqual(bn.variable.dataSync(), bn0, 'BN in a frozen group trains');
  l.unfreeze();
  await l.fit(1, 1e-3);
  const n0 = tf.memory().numTensors;
  await l.fit(1, 1e-3);
  assert.equal(tf.memory().numTensors, n0);
  assert.notDeepEqual(conv.variable.dataSync(), conv0);
  const w = model.stateDict();
  await l.lrFind({ numIt: 3 });
  for (const [k, t] of model.stateDict()) assert.deepEqual(t.dataSync(), w.get(k)!.dataSync(), `${k} restored after lr_find`);
  await l.save('s');
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const before = model.forward(x, false).dataSync().slice();
  const other = createModel({ arch: 'resnet18', numClasses: data.c, ps: [0, 0], seed: 2 });
  const l2 = new Learner({ data, model: other, path: dir });
  await l2.load('s');
  assert.deepEqual(other.forward(x, false).dataSync(), before);
  x.dispose();
  l.dispose();
  l2.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});
