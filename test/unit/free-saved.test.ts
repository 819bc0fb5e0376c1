// Saved tensors are freed as backward proceeds (src/trainer/backend/free-saved.ts): at the last
// node backprop visits, the activations the earlier-visited nodes saved are gone, as in PyTorch;
// first- and second-order gradients are unchanged, and nothing leaks.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { selectBackend, tf } from '../../src/trainer/backend';

const N = 40;

/** x → sin^N(x), with probes at both ends reporting the live tensor count when backprop reaches them. */
function chain(x: tf.Tensor, seen: number[]): tf.Tensor {
  const probe = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([t]);
    return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => { seen.push(tf.memory().numTensors); return dy.clone(); } };
  }) as never) as (t: tf.Tensor) => tf.Tensor;
  let y = probe(x);
  for (let i = 0; i < N; i++) y = tf.sin(y);
  return tf.sum(probe(y));
}

test('backward frees each node\'s saved activations once it has moved past them; gradients and second-order gradients are unchanged', async () => {
  await selectBackend({ prefer: 'cpu' });
  const x = tf.tensor1d([0.3, -1.2, 2.0]);
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  const g = tf.grad((t: tf.Tensor) => chain(t, seen))(x);
  // seen[0]: the probe nearest the loss (visited first); seen[1]: the one at the input (visited last)
  assert.equal(seen.length, 2);
  // each Sin node adds its input gradient and, kept to the end, would keep its saved input too:
  // the count grows by N unless each saved input is freed as its gradient is made
  assert.ok(seen[1]! - seen[0]! <= 2, `live tensors when backprop reached the input ${seen[1]} vs at the loss ${seen[0]}: the ${N} saved sin inputs were freed on the way`);

  // the gradient is d/dx sin^N(x), by the chain rule on the host
  const xs = x.arraySync() as number[];
  const want = xs.map((v) => {
    let d = 1;
    for (let i = 0; i < N; i++) { d *= Math.cos(v); v = Math.sin(v); }
    return d;
  });
  (g.arraySync() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
  g.dispose();

  // a second-order gradient runs the inner backward inside the outer tape: d²/dx² sin(x) = -sin(x)
  const gg = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.sin(u)))(t)))(x);
  (gg.arraySync() as number[]).forEach((v, i) => assert.ok(Math.abs(v + Math.sin(xs[i]!)) < 1e-6, `${v} vs ${-Math.sin(xs[i]!)}`));
  gg.dispose();
  assert.equal(tf.memory().numTensors, before, 'nothing leaks');
});
