// Gradient parity with PyTorch's autograd: torchvision resnet18/34/50 bodies with a fastai head
// (no dropout), made by Debian's python3-torch, loaded by our weight loader and differentiated by
// tfjs on the torch backend in training mode (BatchNorm on batch statistics). The truth is PyTorch
// in float64 on the same weights, input and labels, taking the ReLU decisions our run took
// (test/python/torch_grad_reference.py says why: a pre-activation within rounding of zero flips
// under any change of summation order, and where that happens is luck). Logits, loss and every
// parameter gradient must then be within 1e-4 relative L2 of float64 in fp32, and of the same step
// on tfjs's cpu backend, which replays those decisions.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, tf } from '../../src/trainer/backend';
import { FUSED } from '../../src/trainer/backend/torch/kernels/fused';
import { createModel, readSafetensorsSync, writeSafetensors, loadTorchState, type ArchName, type HostTensor } from '../../src/trainer/models';
import { toModelLayout } from '../../src/trainer/models/weights';
import { crossEntropyPerItem } from '../../src/trainer/learner/learner';
import { relativeL2 } from './models-helpers';
import { missingDependency } from '../helpers/requires';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '../../../test/python/torch_grad_reference.py');
const ARCHS: ArchName[] = ['resnet18', 'resnet34', 'resnet50'];
const CLASSES = 5;
const TOLERANCE = 1e-4;

let dir = '';
let skipReason: string | undefined;

before(async () => {
  const info = await selectBackend({ prefer: 'torch' }).catch((err: Error) => err);
  if (info instanceof Error) {
    skipReason = missingDependency('the torch backend (native/build/Release/torch_backend.node)', 'apt-get install libtorch-dev && npm rebuild');
    return;
  }
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    skipReason = missingDependency(`${PYTHON} with torch and torchvision`, 'apt-get install python3-torch python3-torchvision');
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grad-parity-'));
  python('state', '--archs', ARCHS.join(','), '--classes', String(CLASSES));
});

process.on('exit', () => dir && fs.rmSync(dir, { recursive: true, force: true }));

function python(step: string, ...args: string[]): void {
  const run = spawnSync(PYTHON, [SCRIPT, step, dir, ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, `torch_grad_reference.py ${step} failed: ${run.stderr}`);
}

/** Runs `fn` with these kernels and gradients registered in place of the current ones, which come back after. */
function withKernels<T>(kernels: tf.KernelConfig[], gradients: tf.GradConfig[], fn: () => T): T {
  const swapKernel = (k: tf.KernelConfig) => (tf.unregisterKernel(k.kernelName, k.backendName), tf.registerKernel(k));
  const swapGradient = (g: tf.GradConfig) => (tf.unregisterGradient(g.kernelName), tf.registerGradient(g));
  const kernelsBefore = kernels.map((k) => tf.getKernel(k.kernelName, k.backendName)!);
  const gradientsBefore = gradients.map((g) => tf.getGradient(g.kernelName));
  kernels.forEach(swapKernel);
  gradients.forEach(swapGradient);
  try {
    return fn();
  } finally {
    kernelsBefore.forEach(swapKernel);
    gradientsBefore.forEach(swapGradient);
  }
}

/**
 * Runs `fn` with every ReLU of the torch backend recorded, in call order, as a 0/1 mask of its
 * output (NHWC): the block ReLUs fused into the training batch norm and the plain ones.
 */
function recordingReluMasks<T>(fn: () => T): { result: T; masks: Map<string, HostTensor> } {
  const masks = new Map<string, HostTensor>();
  const recording = [FUSED.batchNormTrain, 'Relu'].map((name): tf.KernelConfig => {
    const original = tf.getKernel(name, 'torch')!;
    return {
      ...original,
      kernelFunc: (args) => {
        const out = original.kernelFunc(args);
        const y = (Array.isArray(out) ? out[0] : out) as tf.TensorInfo;
        if (name === 'Relu' || args.attrs?.relu) masks.set(`mask.${masks.size}`, maskOf(args.backend as tf.KernelBackend, y));
        return out;
      },
    };
  });
  return { result: withKernels(recording, [], fn), masks };
}

/**
 * Runs `fn` on the cpu backend with every ReLU taking the next of `masks` instead of deciding:
 * y = x·mask forward, dy·mask back. The cpu path runs its ReLUs as plain Relu kernels, in the order
 * the torch path runs its fused ones.
 */
function replayingReluMasks<T>(masks: Map<string, HostTensor>, fn: () => T): T {
  const queue = [...masks.values()];
  const byOutput = new Map<object, tf.Tensor>();
  const replay: tf.KernelConfig = {
    kernelName: 'Relu', backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const mask = queue.shift();
      assert.ok(mask, 'the cpu path runs more ReLUs than the torch path did');
      assert.deepEqual(x.shape, mask.shape, 'a ReLU of another shape: the two paths differ');
      const values = (backend as tf.KernelBackend).readSync(x.dataId) as Float32Array;
      const cpu = backend as unknown as { makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo };
      const y = cpu.makeTensorInfo(x.shape, 'float32', Float32Array.from(values, (v, i) => v * mask.data[i]));
      byOutput.set(y.dataId, tf.keep(tf.tensor(mask.data, mask.shape)));
      return y;
    },
  };
  const replayGradient: tf.GradConfig = { kernelName: 'Relu', outputsToSave: [true], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, byOutput.get(saved[0].dataId)!) }) };
  try {
    const result = withKernels([replay], [replayGradient], fn);
    assert.equal(queue.length, 0, 'the cpu path ran fewer ReLUs than the torch path did');
    return result;
  } finally {
    tf.dispose([...byOutput.values()]);
  }
}

function maskOf(backend: tf.KernelBackend, y: tf.TensorInfo): HostTensor {
  const values = backend.readSync(y.dataId) as Float32Array;
  return { shape: y.shape, data: Float32Array.from(values, (v) => (v > 0 ? 1 : 0)) };
}

/** NHWC masks as NCHW (kernels may not run tensor ops, so this happens after the run). */
function toNchw(masks: Map<string, HostTensor>): Map<string, HostTensor> {
  return new Map([...masks].map(([name, m]) => {
    if (m.shape.length !== 4) return [name, m];
    const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(m.data, m.shape as [number, number, number, number]), [0, 3, 1, 2]));
    const out = { shape: nchw.shape, data: nchw.dataSync() as Float32Array };
    nchw.dispose();
    return [name, out];
  }));
}

interface Step {
  logits: tf.Tensor;
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
}

/** One training-mode forward and backward of `model`: logits, mean cross-entropy, every parameter's gradient. */
function trainingStep(model: ReturnType<typeof createModel>, x: tf.Tensor4D, y: tf.Tensor1D): Step {
  let logits: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(x, true) as tf.Tensor2D;
    logits = tf.keep(out);
    return tf.mean(crossEntropyPerItem(out, y)) as tf.Scalar;
  }, model.params.map((p) => p.variable));
  return { logits: logits!, value, grads };
}

const disposeStep = (s: Step) => tf.dispose([s.logits, s.value, ...Object.values(s.grads)]);

/** The reference's model on torch, with its input (NHWC) and labels. */
function referenceModel(arch: ArchName) {
  const saved = readSafetensorsSync(path.join(dir, `${arch}-state.safetensors`)).tensors;
  const state = new Map([...saved].filter(([n]) => n.startsWith('body.') || n.startsWith('head.')));
  const model = createModel({ arch, numClasses: CLASSES, ps: [0, 0], seed: 1 });
  const report = loadTorchState(model, state, `${arch} reference`, { scope: 'all', strict: true });
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.unexpected, []);
  const input = saved.get('input')!;
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(input.data, input.shape as [number, number, number, number]), [0, 2, 3, 1]));
  const y = tf.tensor1d(Int32Array.from(saved.get('labels')!.data), 'int32');
  return { model, x, y, dispose: () => (model.dispose(), tf.dispose([x, y])) };
}

for (const arch of ARCHS) {
  test(`${arch}: training-mode logits, loss and every parameter gradient on torch match PyTorch autograd in float64 (rel. L2 <= 1e-4)`, { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { model, x, y, dispose } = referenceModel(arch);
    try {
      const { result: step, masks } = recordingReluMasks(() => trainingStep(model, x, y));
      const { logits, value, grads } = step;
      const masksFile = path.join(dir, `${arch}-masks.safetensors`);
      await writeSafetensors(masksFile, toNchw(masks));
      python('grad', '--arch', arch, '--masks', masksFile);
      const ref = readSafetensorsSync(path.join(dir, `${arch}-grad.safetensors`)).tensors;
      const fp32Err = (name: string) => ref.get(`fp32err.${name}`)!.data[0];
      const logitErr = tf.tidy(() => relativeL2(logits, tf.tensor(ref.get('logits')!.data, ref.get('logits')!.shape)));
      const lossErr = Math.abs(value.dataSync()[0] - ref.get('loss')!.data[0]) / Math.abs(ref.get('loss')!.data[0]);
      assert.ok(logitErr <= TOLERANCE, `logits relative error ${logitErr} (PyTorch fp32: ${fp32Err('logits')})`);
      assert.ok(lossErr <= TOLERANCE, `loss relative error ${lossErr}`);
      assert.equal(Object.keys(grads).length, model.params.length);
      let worst = { name: '', err: 0, torch32: 0 };
      for (const p of model.params) {
        const expected = ref.get(`grad.${p.name}`);
        assert.ok(expected, `PyTorch has a gradient for ${p.name}`);
        const err = tf.tidy(() => relativeL2(grads[p.variable.name], toModelLayout(expected)));
        if (err > worst.err) worst = { name: p.name, err, torch32: fp32Err(p.name) };
        assert.ok(err <= TOLERANCE, `${p.name}: gradient relative error ${err} against float64; PyTorch fp32's is ${fp32Err(p.name)}`);
      }
      t.diagnostic(`${arch} vs PyTorch float64 (${masks.size} ReLU masks): logits ${logitErr.toExponential(2)} (PyTorch fp32 ${fp32Err('logits').toExponential(2)}), loss ${lossErr.toExponential(2)}, worst of ${model.params.length} gradients ${worst.err.toExponential(2)} at ${worst.name} (PyTorch fp32 there ${worst.torch32.toExponential(2)})`);
      disposeStep(step);
    } finally {
      dispose();
    }
  });

  // tfjs's cpu backend runs the portable path (no fused ops) in fp32, replaying torch's ReLU
  // decisions; 32 px crops of the input, as its kernels are plain JavaScript
  test(`${arch}: the same training step on torch and on tfjs's cpu backend (rel. L2 <= 1e-4)`, { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const { model, x, y, dispose } = referenceModel(arch);
    const crop = x.slice([0, 0, 0, 0], [-1, 32, 32, -1]);
    try {
      const { result: torch, masks } = recordingReluMasks(() => trainingStep(model, crop, y));
      const host = (v: tf.Tensor) => ({ shape: v.shape, data: (v.dataSync() as Float32Array).slice() });
      const expected = { logits: host(torch.logits), grads: new Map(model.params.map((p) => [p.name, host(torch.grads[p.variable.name])])) };
      disposeStep(torch);
      await tf.setBackend('cpu');
      try {
        const cpu = replayingReluMasks(masks, () => trainingStep(model, crop, y));
        const err = (a: { shape: number[]; data: Float32Array }, b: tf.Tensor) => tf.tidy(() => relativeL2(tf.tensor(a.data, a.shape), b));
        const logitErr = err(expected.logits, cpu.logits);
        assert.ok(logitErr <= TOLERANCE, `logits: torch against cpu ${logitErr}`);
        let worst = { name: '', err: 0 };
        for (const p of model.params) {
          const e = err(expected.grads.get(p.name)!, cpu.grads[p.variable.name]);
          if (e > worst.err) worst = { name: p.name, err: e };
          assert.ok(e <= TOLERANCE, `${p.name}: gradient on torch against the cpu backend ${e}`);
        }
        t.diagnostic(`${arch} torch vs cpu backend, 8x32x32 (${masks.size} ReLU decisions replayed): logits ${logitErr.toExponential(2)}, worst of ${model.params.length} gradients ${worst.err.toExponential(2)} at ${worst.name}`);
        disposeStep(cpu);
      } finally {
        await tf.setBackend('torch');
      }
    } finally {
      crop.dispose();
      dispose();
    }
  });
}
