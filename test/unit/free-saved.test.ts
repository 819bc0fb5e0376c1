// Saved tensors and output gradients are freed as backward proceeds (src/trainer/backend/free-saved.ts):
// at the last node backprop visits, what the earlier-visited nodes saved and were given is gone, as
// in PyTorch; first- and second-order gradients, a caller's dy and pass-through gradients are
// unchanged, and nothing leaks.
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
  // each Sin node adds its input's gradient; kept to the end, its saved input and its output's
  // gradient would stay too (the count grows by N): freed as backprop moves on, it falls by N
  assert.ok(seen[0]! - seen[1]! >= N - 2, `live tensors when backprop reached the input ${seen[1]} vs at the loss ${seen[0]}: the ${N} saved sin inputs and their gradients were freed on the way`);

  // the gradient is d/dx sin^N(x), by the chain rule on the host
  const xs = x.arraySync() as number[];
  const want = xs.map((v) => {
    let d = 1;
    for (let i = 0; i < N; i++) { d *= Math.cos(v); v = Math.sin(v); }
    return d;
  });
  (g.arraySync() as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
  g.dispose();

  // the caller's dy is the caller's, and a clone (Identity) hands its dy on unchanged as its input's gradient
  const dy = tf.tensor1d([1, 2, 3]);
  const [gx] = tf.grads((t: tf.Tensor) => tf.mul(tf.clone(tf.clone(t)), 2))([x], dy);
  assert.deepEqual(gx!.arraySync(), [2, 4, 6]);
  assert.equal(dy.isDisposed, false);
  tf.dispose([gx!, dy]);

  // a second-order gradient runs the inner backward inside the outer tape: d²/dx² sin(x) = -sin(x)
  const gg = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.sin(u)))(t)))(x);
  (gg.arraySync() as number[]).forEach((v, i) => assert.ok(Math.abs(v + Math.sin(xs[i]!)) < 1e-6, `${v} vs ${-Math.sin(xs[i]!)}`));
  gg.dispose();
  assert.equal(tf.memory().numTensors, before, 'nothing leaks');
});
