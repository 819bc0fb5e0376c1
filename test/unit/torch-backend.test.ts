// The torch backend (tfjs kernels on libtorch): present under CI, numerically the cpu backend's
// twin on a real resnet18 training step (logits and every parameter gradient, which also covers
// the fused batch norm and cross-entropy; batch 8 so the head's BatchNorm1d and the 1x1 last stage
// see enough values per channel for well-conditioned batch statistics: at batch 2-4 both fp32
// backends differ by 1.5-3e-4 even without the fused kernels; a random input, so no ReLU or
// max-pool decision sits on a tie), no leaks across epochs, and the CLI on torch or wasm.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/trainer/backend';
import { registerTorchBackend, torchAdamW, torchLoadError, TORCH_FIX, TORCH_BACKEND, type TorchBackend } from '../../src/trainer/backend/torch';
import { createModel } from '../../src/trainer/models';
import { SeededRandom } from '../../src/trainer/models/random';
import { Learner, crossEntropyPerItem } from '../../src/trainer/learner';
import { makeFakeData } from '../helpers/fake-data';
import { relativeL2 } from './models-helpers';

const reg = registerTorchBackend({ threads: os.availableParallelism() });
// CI installs libtorch-dev and builds the addon: there, a missing addon is a failure, not a skip.
const skip = reg ? false : process.env.CI ? false : `torch addon not built (${torchLoadError()}); ${TORCH_FIX}`;
const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');

test('the torch addon is built and loads (required under CI)', () => {
  if (!reg && !process.env.CI) return;
  assert.ok(reg, `torch backend missing: ${torchLoadError()}; ${TORCH_FIX}`);
  assert.equal(reg.device, reg.about.cuda ? 'cuda' : 'cpu');
  assert.ok(reg.threads >= 1);
});

async function trainingStep(backend: string, model: ReturnType<typeof createModel>, x: Float32Array, y: Int32Array) {
  await tf.setBackend(backend);
  let result: { logits: Float32Array; grads: Map<string, Float32Array> } | null = null;
  tf.tidy(() => {
    const xt = tf.tensor4d(x, [8, 32, 32, 3]);
    const yt = tf.tensor1d(y, 'int32');
    let logits: Float32Array = new Float32Array();
    const { grads } = tf.variableGrads(() => {
      const out = model.forward(xt, true) as tf.Tensor2D;
      logits = out.dataSync() as Float32Array;
      return tf.mean(crossEntropyPerItem(out, yt)) as tf.Scalar;
    }, model.params.map((p) => p.variable));
    const g = new Map(Object.entries(grads).map(([k, t]) => [k, t.dataSync().slice() as Float32Array]));
    result = { logits, grads: g };
  });
  return result!;
}

test('resnet18 training step: logits and every parameter gradient on torch match the cpu backend (rel. L2 <= 1e-4)', { skip, timeout: 300_000 }, async (t) => {
  const model = createModel({ arch: 'resnet18', numClasses: 5, ps: [0, 0], seed: 3 });
  // Random, not a periodic pattern: sin(i·0.37) repeats values, so max-pool windows and ReLUs sat
  // on near-ties that flip under 1e-7 rounding differences; then even cpu against cpu with a 3e-6
  // input perturbation differed by 1e-2 (what had the fused BN wrongly switched off).
  const x = new SeededRandom(7).normal(8 * 32 * 32 * 3, 1);
  const y = Int32Array.from([0, 3, 1, 4, 2, 2, 0, 1]);
  const cpu = await trainingStep('cpu', model, x, y);
  const torch = await trainingStep(TORCH_BACKEND, model, x, y);
  const rel = (a: Float32Array, b: Float32Array) => tf.tidy(() => relativeL2(tf.tensor1d(a), tf.tensor1d(b)));
  const logitErr = rel(torch.logits, cpu.logits);
  assert.ok(logitErr <= 1e-4, `logits rel. L2 ${logitErr}`);
  assert.equal(torch.grads.size, model.params.length);
  let worst = 0;
  for (const [name, g] of cpu.grads) {
    const err = rel(torch.grads.get(name)!, g);
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-4, `${name}: gradient rel. L2 ${err}`);
  }
  t.diagnostic(`logits ${logitErr.toExponential(2)}, worst gradient ${worst.toExponential(2)} over ${cpu.grads.size} params`);
  model.dispose?.();
});

test('no leaks on torch: tfjs tensors, data ids and native tensors stay level across epochs', { skip, timeout: 300_000 }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const backend = tf.backend() as TorchBackend;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'torch-leak-'));
  const data = makeFakeData({ size: 32, bs: 4, nTrain: 8, nValid: 4 });
  const model = createModel({ arch: 'resnet18', numClasses: data.c, ps: [0, 0], seed: 1 });
  const l = new Learner({ data, model, path: dir });
  l.unfreeze();
  await l.fit(1, 1e-3);
  const first = [tf.memory().numTensors, backend.numDataIds(), backend.liveNativeTensors()];
  for (let epoch = 0; epoch < 2; epoch++) {
    await l.fit(1, 1e-3);
    assert.deepEqual([tf.memory().numTensors, backend.numDataIds(), backend.liveNativeTensors()], first, `after epoch ${epoch + 2}`);
  }
  assert.ok(backend.liveNativeTensors() <= backend.numDataIds());
  await fs.rm(dir, { recursive: true, force: true });
});

test("a new or loaded model's weights leave the JS heap at once on torch (uploaded, not left to linger as garbage)", { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const backend = tf.backend() as TorchBackend;
  const model = createModel({ arch: 'resnet18', numClasses: 3, seed: 2 });
  const tensors = () => [...model.params.map((p) => p.variable), ...model.buffers.values()];
  assert.equal(backend.uploadNow(tensors()), 0, 'initial weights are still waiting on the host');
  // as a checkpoint load makes them: fresh tensors from host arrays
  const state = new Map([...model.stateDict()].map(([name, t]) => {
    const fresh = tf.tensor(t.dataSync().slice(), t.shape, t.dtype);
    t.dispose();
    return [name, fresh] as const;
  }));
  model.loadStateDict(state);
  assert.equal(backend.uploadNow(tensors()), 0, 'loaded weights are still waiting on the host');
  state.forEach((t) => t.dispose());
  model.dispose();
});

test('fused AdamW in place (variables it may overwrite) equals the copying update bit for bit, and spares a tensor still held elsewhere', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  const rnd = new SeededRandom(5);
  const shapes = [[3, 3, 4, 8], [8]];
  const init = shapes.map((s) => [rnd.normal(s.reduce((a, b) => a * b), 1), rnd.normal(s.reduce((a, b) => a * b), 1)]);
  const grads = shapes.map((s) => rnd.normal(s.reduce((a, b) => a * b), 1));
  // holdOld: a clone of every p, m, v is alive during each step, so every update must copy
  const run = (holdOld: boolean) => {
    const vars = shapes.map((s, i) => ({
      p: tf.variable(tf.tensor(init[i][0], s)), m: tf.variable(tf.tensor(init[i][1], s).abs()), v: tf.variable(tf.tensor(init[i][1], s).square()),
    }));
    // a conv re-lays the filter as channels-last OIHW: the moments and gradient then differ in order
    tf.tidy(() => tf.conv2d(tf.ones([1, 5, 5, 4]) as tf.Tensor4D, vars[0].p as tf.Tensor4D, 1, 'same').dataSync());
    for (let step = 1; step <= 3; step++) {
      const held = holdOld ? vars.flatMap((v) => [v.p, v.m, v.v].map((t) => tf.clone(t))) : [];
      const before = held.map((t) => t.dataSync().slice());
      tf.tidy(() => {
        const items = vars.map((v, i) => ({ param: v.p, grad: tf.tensor(grads[i], shapes[i]), expAvg: v.m, expAvgSq: v.v, lr: 1e-2, mom: 0.9, wd: 1e-2, debias1: 1 - 0.9 ** step, debias2: 1 - 0.99 ** step }));
        torchAdamW(items, 0.99, 1e-5)!.forEach(([p, m, v], i) => { vars[i].m.assign(m); vars[i].v.assign(v); vars[i].p.assign(p); });
      });
      held.forEach((t, k) => assert.deepEqual(t.dataSync(), before[k], `step ${step}: a clone changed with its variable`));
      held.forEach((t) => t.dispose());
    }
    const out = vars.map((v) => [v.p, v.m, v.v].map((t) => t.dataSync().slice()));
    vars.forEach((v) => [v.p, v.m, v.v].forEach((t) => t.dispose()));
    return out;
  };
  assert.deepEqual(run(false), run(true));
});

test('a kernel the torch backend lacks fails loudly instead of falling back', { skip }, async () => {
  await tf.setBackend(TORCH_BACKEND);
  assert.throws(() => tf.engine().runKernel('NoSuchKernel', {}, {}), /not registered|NoSuchKernel/);
});

test('the CLI runs on torch when it is built, and on wasm when asked (--backend wasm)', { timeout: 240_000 }, () => {
  const run = (args: string[]) => spawnSync(process.execPath, [MAIN, 'doctor', ...args], { encoding: 'utf8', timeout: 120_000 });
  const auto = run(['--json']);
  assert.equal(auto.status, 0, auto.stderr);
  const info = JSON.parse(auto.stdout) as { running: { name: string } };
  assert.equal(info.running.name, reg ? 'torch' : 'wasm');
  const wasm = run(['--json', '--backend', 'wasm']);
  assert.equal(wasm.status, 0, wasm.stderr);
  assert.equal((JSON.parse(wasm.stdout) as { running: { name: string } }).running.name, 'wasm');
  const unknown = run(['--backend', 'metal']);
  assert.equal(unknown.status, 1, 'an unknown backend is an error, not a crash');
  assert.match(unknown.stderr, /^image-trainer: error: Unknown backend 'metal'\. Fix: use one of torch-gpu, .*\n$/);
});
