// The wasm backend's training kernels (Conv2DBackpropFilter, Conv2DBackpropInput, registered by
// src/trainer/backend/wasm-conv-grads.ts) against the cpu backend's reference kernels, on conv
// shapes that resnets and odd inputs produce, and on every parameter gradient of a whole resnet.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { selectBackend, silenceCpuBackendBanner, tf } from '../../src/trainer/backend';
import { createModel } from '../../src/trainer/models';
import { SeededRandom } from '../../src/trainer/models/random';
import { relativeL2 } from './models-helpers';
import { missingDependency } from '../helpers/requires';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const torchPad = (p: number): Pad => [[0, 0], [p, p], [p, p], [0, 0]];

// [x shape NHWC, filter HWIO, strides, pad]
const CASES: [number[], number[], number | [number, number], Pad][] = [
  [[2, 8, 8, 3], [3, 3, 3, 4], 1, 'same'],
  [[2, 8, 8, 3], [3, 3, 3, 4], 1, 'valid'],
  [[2, 9, 9, 5], [3, 3, 5, 6], 2, 'same'],
  [[2, 9, 9, 5], [3, 3, 5, 6], 2, 'valid'],
  [[2, 10, 10, 5], [3, 3, 5, 6], 2, 'same'],
  [[2, 10, 10, 5], [3, 3, 5, 6], 2, 'valid'],
  [[2, 10, 10, 5], [3, 3, 5, 6], 2, torchPad(1)],
  [[2, 9, 9, 5], [3, 3, 5, 6], 2, torchPad(1)],
  [[2, 8, 8, 4], [3, 3, 4, 4], 1, torchPad(1)],
  [[2, 11, 7, 3], [5, 3, 3, 2], [2, 1], 'same'],
  [[2, 11, 7, 3], [5, 3, 3, 2], [1, 2], 'valid'],
  [[3, 16, 16, 3], [7, 7, 3, 8], 2, torchPad(3)],
  [[2, 17, 17, 3], [7, 7, 3, 8], 2, torchPad(3)],
  [[2, 16, 16, 8], [7, 7, 8, 16], 2, 'same'],
  [[2, 17, 17, 8], [7, 7, 8, 16], 2, 'valid'],
  [[3, 10, 12, 4], [1, 1, 4, 8], 2, 'same'],
  [[3, 11, 11, 4], [1, 1, 4, 8], 2, 'valid'],
  [[3, 10, 12, 4], [1, 1, 4, 8], 1, 'same'],
  [[2, 8, 8, 16], [1, 1, 16, 32], 2, 'valid'],
  [[4, 16, 16, 32], [3, 3, 32, 64], 2, torchPad(1)],
  [[4, 16, 16, 32], [3, 3, 32, 32], 1, torchPad(1)],
  [[2, 5, 5, 2], [3, 3, 2, 3], 1, torchPad(2)],
];
const TOLERANCE = 1e-5;

function uniform(shape: number[], seed: number): tf.Tensor {
  const r = new SeededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => 2 * r.uniform() - 1), shape);
}

async function onBackend<T>(name: string, fn: () => T): Promise<T> {
  await tf.setBackend(name);
  if (name === 'cpu') silenceCpuBackendBanner();
  return fn();
}

function convGrads([xs, fs, strides, pad]: (typeof CASES)[number], seed: number): { dW: Float32Array; dX: Float32Array } {
  return tf.tidy(() => {
    const x = uniform(xs, seed) as tf.Tensor4D;
    const f = uniform(fs, seed + 1) as tf.Tensor4D;
    const outShape = tf.conv2d(x, f, strides, pad).shape;
    const dy = uniform(outShape, seed + 2);
    // gradients of sum(conv(x, f) · dy): exactly the backprop kernels' outputs
    const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(a, b, strides, pad), dy));
    const [dX, dW] = tf.grads(loss as any)([x, f]);
    return { dW: dW.dataSync() as Float32Array, dX: dX.dataSync() as Float32Array };
  });
}

let wasmActive = false;
before(async () => {
  const info = await selectBackend({ prefer: process.env.IMAGE_TRAINER_TEST_BACKEND ?? 'wasm' }).catch(() => null);
  wasmActive = info?.kind === 'wasm';
});

test('wasm conv gradients match the cpu backend on 22 shapes (strides 1/2, same/valid/explicit pads, 1×1/3×3/5×3/7×7)', async (t) => {
  if (!wasmActive) return t.skip(missingDependency('the wasm backend', 'npm ci installs @tensorflow/tfjs-backend-wasm'));
  let worst = 0;
  for (const [i, c] of CASES.entries()) {
    const ref = await onBackend('cpu', () => convGrads(c, 100 + i));
    const got = await onBackend('wasm', () => convGrads(c, 100 + i));
    const eW = relativeL2(got.dW, ref.dW);
    const eX = relativeL2(got.dX, ref.dX);
    worst = Math.max(worst, eW, eX);
    assert.ok(eW <= TOLERANCE && eX <= TOLERANCE, `case ${i} x=${c[0]} f=${c[1]} s=${c[2]} pad=${JSON.stringify(c[3])}: dW ${eW}, dX ${eX}`);
  }
  t.diagnostic(`worst relative L2 over ${CASES.length} shapes: ${worst.toExponential(2)}`);
});

const DEPTHWISE_CASES: [number[], number[], number | [number, number], Pad][] = [
  [[2, 8, 8, 4], [3, 3, 4, 1], 1, 'same'],
  [[2, 9, 9, 4], [3, 3, 4, 1], 2, 'same'],
  [[2, 9, 9, 4], [3, 3, 4, 1], 2, 'valid'],
  [[2, 10, 10, 6], [3, 3, 6, 1], 2, torchPad(1)],
  [[2, 8, 8, 3], [5, 5, 3, 2], 1, torchPad(2)],
  [[2, 11, 7, 3], [3, 3, 3, 2], [2, 1], 'same'],
  [[2, 6, 6, 8], [1, 1, 8, 1], 2, 'valid'],
];

function depthwiseGrads([xs, fs, strides, pad]: (typeof DEPTHWISE_CASES)[number], seed: number): { dW: Float32Array; dX: Float32Array } {
  return tf.tidy(() => {
    const x = uniform(xs, seed) as tf.Tensor4D;
    const f = uniform(fs, seed + 1) as tf.Tensor4D;
    const dy = uniform(tf.depthwiseConv2d(x, f, strides, pad as any).shape, seed + 2);
    const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.depthwiseConv2d(a, b, strides, pad as any), dy));
    const [dX, dW] = tf.grads(loss as any)([x, f]);
    return { dW: dW.dataSync() as Float32Array, dX: dX.dataSync() as Float32Array };
  });
}

test('wasm depthwise conv gradients (channel multiplier 1 and 2) match the cpu backend', async (t) => {
  if (!wasmActive) return t.skip(missingDependency('the wasm backend', 'npm ci installs @tensorflow/tfjs-backend-wasm'));
  let worst = 0;
  for (const [i, c] of DEPTHWISE_CASES.entries()) {
    const ref = await onBackend('cpu', () => depthwiseGrads(c, 200 + i));
    const got = await onBackend('wasm', () => depthwiseGrads(c, 200 + i));
    const eW = relativeL2(got.dW, ref.dW);
    const eX = relativeL2(got.dX, ref.dX);
    worst = Math.max(worst, eW, eX);
    assert.ok(eW <= TOLERANCE && eX <= TOLERANCE, `case ${i} x=${c[0]} f=${c[1]} s=${c[2]} pad=${JSON.stringify(c[3])}: dW ${eW}, dX ${eX}`);
  }
  t.diagnostic(`worst relative L2 over ${DEPTHWISE_CASES.length} depthwise shapes: ${worst.toExponential(2)}`);
});

// Eval-mode BN isolates the conv kernels (tight bound); training mode adds batch statistics over
// few values per channel at layer4 (4 images × 1×1), which amplifies float32 rounding (looser bound).
for (const [training, bound] of [[false, 1e-4], [true, 2e-3]] as const) {
  test(`a whole resnet18 has the same parameter gradients on wasm and cpu (${training ? 'training: batch-stat BN, dropout' : 'eval-mode BN'})`, async (t) => {
    if (!wasmActive) return t.skip(missingDependency('the wasm backend', 'npm ci installs @tensorflow/tfjs-backend-wasm'));
    const gradsOn = async (backend: string) =>
      onBackend(backend, () => {
        const model = createModel({ arch: 'resnet18', numClasses: 4, seed: 3 });
        try {
          return tf.tidy(() => {
            const x = uniform([4, 32, 32, 3], 7) as tf.Tensor4D;
            const y = tf.oneHot(tf.tensor1d([1, 3, 0, 2], 'int32'), 4);
            const vars = model.params.map((p) => p.variable);
            const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(x, training)) as tf.Scalar, vars);
            model.commitBatchStats();
            return { loss: value.dataSync()[0], grads: model.params.map((p) => [p.name, grads[p.variable.name]?.dataSync()] as const) };
          });
        } finally {
          model.dispose();
        }
      });
    const ref = await gradsOn('cpu');
    const got = await gradsOn('wasm');
    await tf.setBackend('wasm');
    const lossErr = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss);
    let worst = 0;
    let worstName = '';
    let compared = 0;
    for (const [i, [name, g]] of got.grads.entries()) {
      const r = ref.grads[i][1];
      if (!g || !r) continue; // eval-mode BN weights get no gradient when nothing depends on them
      compared++;
      const e = relativeL2(g, r);
      if (e > worst) [worst, worstName] = [e, name];
    }
    t.diagnostic(`loss relative error ${lossErr.toExponential(2)}; ${compared} gradients, worst relative L2 ${worst.toExponential(2)} (${worstName})`);
    assert.ok(compared >= 60, `only ${compared} gradients compared`);
    assert.ok(lossErr <= bound, `loss ${got.loss} vs ${ref.loss}`);
    assert.ok(worst <= bound, `worst gradient relative L2 ${worst} at ${worstName}`);
  });
}
