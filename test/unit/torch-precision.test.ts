// Mixed precision on the torch backend: in bf16 the conv and matmul kernels (forward and
// gradients) compute in bf16 yet hand tfjs float32 tensors close to fp32's (and not equal, so bf16
// really ran); conv and batch-norm activations stay bf16 in the addon (half the bytes) while every
// other kernel and every read sees float32; a fit with toBf16 runs in bf16 and leaves fp32 behind, also when it fails; fp16 on
// the CPU is refused with the fix; and `train --bf16` trains and records its precision.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTorchComputePrecision, tf, torchComputePrecision } from '../../src/trainer/backend';
import { cpuFeatures } from '../../src/trainer/backend/host';
import { loadTorchAddon, registerTorchBackend, torchBatchNormTrain, torchLoadError, TORCH_BACKEND, TORCH_FIX } from '../../src/trainer/backend/torch';
import { Learner, MixedPrecision } from '../../src/trainer/learner';
import type { Callback } from '../../src/trainer/learner/callback';
import { Metrics } from '../../src/trainer/cli/metrics';
import { TrainerEvent, formatBackend, type BackendInfo } from '../../src/protocol/events';
import { SeededRandom } from '../../src/trainer/models/random';
import { makeFakeData } from '../helpers/fake-data';
import { createTinyModel } from '../helpers/tiny-model';
import { makeTempDir, removeDir, writeSolid } from '../helpers/images';

const reg = registerTorchBackend({ threads: os.availableParallelism() });
const skip = reg ? false : process.env.CI ? false : `torch addon not built (${torchLoadError()}); ${TORCH_FIX}`;
const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');
// This CPU's truth (CI's may lack AVX512_BF16: then bf16 is refused and the fit stays fp32).
const TORCH_CPU: BackendInfo = { name: 'torch', kind: 'torch-cpu', fp16: false, bf16: true };

const relErr = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(a, b)).div(tf.norm(b)).dataSync()[0]);

/** Each op's fp32 and bf16 results, the inputs the same. */
function inBoth(op: () => tf.Tensor[]): { fp32: tf.Tensor[]; bf16: tf.Tensor[] } {
  setTorchComputePrecision('fp32');
  const fp32 = op();
  setTorchComputePrecision('bf16');
  try {
    return { fp32, bf16: op() };
  } finally {
    setTorchComputePrecision('fp32');
  }
}

test('bf16: conv, fused conv, both conv gradients and matmuls return float32 within 2e-2 of fp32, not bit-identical', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const rnd = new SeededRandom(3);
  const x = tf.tensor4d(rnd.normal(2 * 9 * 9 * 8, 1), [2, 9, 9, 8]);
  const w = tf.tensor4d(rnd.normal(3 * 3 * 8 * 16, 0.2), [3, 3, 8, 16]);
  const bias = tf.tensor1d(rnd.normal(16, 1));
  const a = tf.tensor2d(rnd.normal(6 * 40, 1), [6, 40]);
  const m = tf.tensor2d(rnd.normal(40 * 5, 1), [40, 5]);
  const { fp32, bf16 } = inBoth(() => {
    const conv = tf.conv2d(x, w, 2, 'same'); // asymmetric 'same' padding at stride 2
    const fused = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias, activation: 'relu' });
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'))))([x, w]);
    const mm = tf.matMul(a, m);
    const fusedMm = tf.fused.matMul({ a, b: m, bias: tf.ones([5]), activation: 'relu' });
    const batched = tf.matMul(a.reshape([2, 3, 40]), m.reshape([1, 40, 5]).tile([2, 1, 1]));
    return [conv, fused, dx, dw, mm, fusedMm, batched];
  });
  const names = ['conv2d', 'fused conv2d', 'conv dx', 'conv dw', 'matMul', 'fused matMul', 'batched matMul'];
  fp32.forEach((f, i) => {
    const b = bf16[i];
    assert.equal(b.dtype, 'float32', `${names[i]}: tfjs sees float32`);
    const err = relErr(b, f);
    assert.ok(err < 2e-2, `${names[i]}: rel. error ${err}`);
    assert.ok(err > 0, `${names[i]}: identical to fp32, so bf16 did not run`);
  });
  tf.dispose([x, w, bias, a, m, ...fp32, ...bf16]);
  assert.equal(torchComputePrecision(), 'fp32');
});

/** Bytes the addon's tensor table grows by while `make` runs (its result kept). */
function addedBytes<T>(make: () => T): { value: T; bytes: number } {
  const addon = loadTorchAddon()!;
  const before = addon.liveBytes();
  const value = make();
  return { value, bytes: addon.liveBytes() - before };
}
/** Whether every float32 value is a bf16 value (its low 16 bits zero). */
const bf16Valued = (t: tf.Tensor) => new Uint32Array(Float32Array.from(t.dataSync()).buffer).every((b) => (b & 0xffff) === 0);

test('bf16: a conv output stays bf16 in the addon (2 bytes a value) and reads as float32; other kernels see float32, also once fp32 is back', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const rnd = new SeededRandom(7);
  const x = tf.tensor4d(rnd.normal(2 * 8 * 8 * 4, 1), [2, 8, 8, 4]);
  const w = tf.tensor4d(rnd.normal(3 * 3 * 4 * 6, 0.3), [3, 3, 4, 6]);
  tf.conv2d(x, w, 1, 'same').dispose(); // uploads x and lays the filter out once
  const n = 2 * 8 * 8 * 6;
  setTorchComputePrecision('bf16');
  let y: tf.Tensor4D;
  try {
    const made = addedBytes(() => tf.conv2d(x, w, 1, 'same'));
    y = made.value;
    assert.equal(made.bytes, 2 * n, 'the conv output is held in bf16');
    assert.equal(y.dtype, 'float32');
    assert.ok(bf16Valued(y), 'what tfjs reads is the bf16 values, widened');
    const doubled = addedBytes(() => tf.mul(y, 2));
    assert.equal(doubled.bytes, 4 * n, 'an elementwise kernel computes and returns float32');
    assert.deepEqual(doubled.value.dataSync(), (y.dataSync() as Float32Array).map((v) => 2 * v));
    const sum = tf.sum(y).dataSync()[0];
    const expected = Array.from(y.dataSync() as Float32Array).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `sum ${sum} vs ${expected}: reduced in float32`);
    const pooled = addedBytes(() => tf.maxPool(y, 2, 2, 'valid'));
    assert.equal(pooled.bytes, 2 * (n / 4), 'a max pool keeps bf16');
    tf.dispose([doubled.value, pooled.value]);
  } finally {
    setTorchComputePrecision('fp32');
  }
  // a bf16 activation left over from a bf16 fit meets an fp32 conv: widened, an fp32 result
  const w1 = tf.tensor4d(rnd.normal(6 * 2, 0.5), [1, 1, 6, 2]);
  tf.conv2d(tf.ones([1, 1, 1, 6]) as tf.Tensor4D, w1, 1, 'valid').dispose(); // uploads w1 and lays it out
  const widened = tf.tensor4d(y.dataSync(), y.shape);
  const mixed = addedBytes(() => tf.conv2d(y, w1, 1, 'valid'));
  assert.equal(mixed.bytes, 4 * 2 * 8 * 8 * 2);
  assert.ok(relErr(mixed.value, tf.conv2d(widened, w1, 1, 'valid')) < 1e-6);
  tf.dispose([x, w, y, w1, widened, mixed.value]);
});

test('bf16: the fused batch norm on a bf16 conv output gives a bf16 y, fp32 statistics, and gradients within 2e-2 of fp32', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const rnd = new SeededRandom(9);
  const x = tf.tensor4d(rnd.normal(4 * 6 * 6 * 3, 1), [4, 6, 6, 3]);
  const w = tf.tensor4d(rnd.normal(3 * 3 * 3 * 8, 0.3), [3, 3, 3, 8]);
  const gamma = tf.tensor1d(rnd.normal(8, 1));
  const beta = tf.tensor1d(rnd.normal(8, 1));
  const n = 4 * 6 * 6 * 8;
  const step = (xx: tf.Tensor, ww: tf.Tensor, gg: tf.Tensor) => {
    const conv = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same');
    const bn = torchBatchNormTrain(conv, gg, beta, 1e-5, { relu: true, residual: conv })!;
    tf.dispose([bn.mean, bn.variance]);
    return tf.sum(tf.square(bn.y));
  };
  const { fp32, bf16 } = inBoth(() => tf.grads(step)([x, w, gamma]));
  for (const [i, name] of ['dx', 'dw', 'dgamma'].entries()) {
    const err = relErr(bf16[i], fp32[i]);
    assert.ok(err < 2e-2 && err > 0, `${name}: rel. error ${err}`);
  }
  setTorchComputePrecision('bf16');
  try {
    const conv = tf.conv2d(x, w, 1, 'same');
    const bn = addedBytes(() => torchBatchNormTrain(conv, gamma, beta, 1e-5, { relu: true })!);
    assert.equal(bn.bytes, 2 * n + 4 * 8 * 2, 'y in bf16; mean and variance in fp32');
    assert.ok(bf16Valued(bn.value.y));
    assert.ok(!bf16Valued(bn.value.mean), 'statistics are not rounded to bf16');
    tf.dispose([conv, bn.value.y, bn.value.mean, bn.value.variance]);
  } finally {
    setTorchComputePrecision('fp32');
  }
  tf.dispose([x, w, gamma, beta, ...fp32, ...bf16]);
});

test('bf16: the filter gradient of a strided conv over an image smaller than its stride is finite and close to fp32 (oneDNN returned garbage there)', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const rnd = new SeededRandom(5);
  // layer4.0.conv1 of a resnet at 16 px: a 1x1 input, 3x3 filter, stride 2, 'same'; and stride 3
  for (const [h, stride] of [[1, 2], [2, 3]]) {
    for (let round = 0; round < 10; round++) {
      const x = tf.tensor4d(rnd.normal(16 * h * h * 64, 1), [16, h, h, 64]);
      const w = tf.tensor4d(rnd.normal(3 * 3 * 64 * 64, 0.05), [3, 3, 64, 64]);
      const { fp32, bf16 } = inBoth(() => tf.grads((ww: tf.Tensor) => tf.sum(tf.conv2d(x, ww as tf.Tensor4D, stride, 'same')))([w]));
      const values = bf16[0].dataSync();
      assert.ok(values.every(Number.isFinite), `${h}x${h} input, stride ${stride}, round ${round}: ${values.filter((v) => !Number.isFinite(v)).length} non-finite values`);
      assert.ok(relErr(bf16[0], fp32[0]) < 2e-2, `relative error ${relErr(bf16[0], fp32[0])}`);
      tf.dispose([x, w, ...fp32, ...bf16]);
    }
  }
});

test('fp16 on the CPU: the addon refuses it and toFp16 says why, with --bf16 as the fix; training stays fp32', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  if (reg?.device === 'cpu') assert.throws(() => setTorchComputePrecision('fp16'), /fp16 needs a CUDA GPU.*use bf16 on the CPU \(--bf16/);
  assert.equal(torchComputePrecision(), 'fp32');
  const dir = await makeTempDir('torch-fp16-');
  const l = new Learner({ data: makeFakeData({ bs: 8, nTrain: 16, nValid: 8 }), model: createTinyModel({ numClasses: 3, ps: [0, 0] }), path: dir });
  const s = l.toFp16(TORCH_CPU);
  assert.equal(s.enabled, false);
  assert.match(s.message, /fp16 not supported on the CPU.*training stays fp32.*Fix: use --bf16/);
  assert.equal(l.precision, 'fp32');
  l.dispose();
  await removeDir(dir);
});

test('a fit after toBf16 computes in bf16 and puts fp32 back at its end, also when it fails', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const dir = await makeTempDir('torch-bf16-');
  const l = new Learner({ data: makeFakeData({ bs: 8, nTrain: 16, nValid: 8 }), model: createTinyModel({ numClasses: 3, ps: [0, 0] }), path: dir });
  assert.equal(l.toBf16(TORCH_CPU).enabled, true);
  assert.equal(l.precision, 'bf16');
  assert.equal(l.getCallback(MixedPrecision)?.scaler, null, 'bf16 needs no loss scaling');
  const seen: string[] = [];
  const spy: Callback = { afterBatch: () => void seen.push(torchComputePrecision()) };
  await l.fit(1, 1e-2, { callbacks: [spy] });
  assert.ok(seen.length > 0 && seen.every((p) => p === 'bf16'), `precision during the fit: ${seen.join(',')}`);
  assert.equal(torchComputePrecision(), 'fp32', 'fp32 after the fit');
  const failing: Callback = { afterBatch: () => { throw new Error('boom'); } };
  await assert.rejects(l.fit(1, 1e-2, { callbacks: [failing] }), /boom/);
  assert.equal(torchComputePrecision(), 'fp32', 'fp32 after a failed fit');
  l.toFp32();
  assert.equal(l.precision, 'fp32');
  l.dispose();
  await removeDir(dir);
});

test('train --bf16 trains (loss falls) and metrics.json records the precision; --bf16 with --fp16 is a clear error', { skip, timeout: 120_000 }, async () => {
  const work = await makeTempDir('cli-bf16-');
  try {
    const colours: Record<string, [number, number, number]> = { red: [220, 30, 30], blue: [30, 30, 220] };
    for (const [name, c] of Object.entries(colours)) {
      for (let i = 0; i < 16; i++) await writeSolid(path.join(work, 'images', `${name}_${i}.png`), [c[0] + i * 2, c[1] + i, c[2]], 20, 20);
    }
    const out = path.join(work, 'run');
    const args = ['train', '--data', path.join(work, 'images'), '--label-re', '/([^/]+)_\\d+\\.png$', '--arch', 'resnet18', '--pretrained', 'none',
      '--size', '32', '--bs', '8', '--epochs', '3', '--lr', '1e-3', '--seed', '1', '--backend', 'torch-cpu', '--out', out, '--json'];
    const r = spawnSync(process.execPath, [MAIN, ...args, '--bf16'], { encoding: 'utf8', timeout: 100_000 });
    assert.equal(r.status, 0, r.stderr);
    const expected = cpuFeatures().bf16 ? 'bf16' : 'fp32';
    const m = Metrics.parse(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')));
    assert.equal(m.precision, expected);
    assert.equal(m.backend.bf16, expected === 'bf16');
    assert.ok(m.epochs.at(-1)!.train_loss < m.epochs[0].train_loss, `train loss ${m.epochs.map((e) => e.train_loss.toFixed(3)).join(' → ')}`);
    const logs = r.stdout.trim().split('\n').map((l) => TrainerEvent.parse(JSON.parse(l))).filter((e) => e.type === 'log');
    const said = expected === 'bf16' ? /Mixed precision bf16 on torch/ : /bf16 not supported on this CPU/;
    assert.ok(logs.some((e) => e.type === 'log' && said.test(e.message)), 'the log says which precision the fit used');
    const both = spawnSync(process.execPath, [MAIN, ...args, '--bf16', '--fp16'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(both.status, 1);
    assert.match(both.stderr, /--fp16.*cannot be used with.*--bf16|--bf16.*cannot be used with.*--fp16/);
  } finally {
    await removeDir(work);
  }
});

test('the backend line names bf16 beside fp16', () => {
  assert.match(formatBackend(TORCH_CPU), /fp16 no, bf16 yes/);
  assert.match(formatBackend({ name: 'wasm', kind: 'wasm', fp16: false }), /fp16 no, bf16 no/);
});
