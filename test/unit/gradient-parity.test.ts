// Gradient parity with PyTorch's autograd: torchvision resnet18/34/50 bodies with a fastai head
// (no dropout), made by Debian's python3-torch, loaded by our weight loader and differentiated by
// tfjs on the torch backend in training mode (BatchNorm on batch statistics). The truth is PyTorch
// in float64 on the same weights, input and labels, taking the ReLU decisions our run took
// (test/python/torch_grad_reference.py says why: a pre-activation within rounding of zero flips
// under any change of summation order, and where that happens is luck). Logits, loss and every
// parameter gradient must then be within 1e-4 relative L2 of float64 in fp32.
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

/**
 * Runs `fn` with every ReLU of the torch backend recorded, in call order, as a 0/1 mask of its
 * output in NCHW (the layout the reference runs in): the block ReLUs fused into the training batch
 * norm and the plain ones.
 */
function recordingReluMasks<T>(fn: () => T): { result: T; masks: Map<string, HostTensor> } {
  const masks = new Map<string, HostTensor>();
  const wrapped = [FUSED.batchNormTrain, 'Relu'].map((name) => {
    const original = tf.getKernel(name, 'torch')!;
    tf.unregisterKernel(name, 'torch');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        const out = original.kernelFunc(args);
        const y = (Array.isArray(out) ? out[0] : out) as tf.TensorInfo;
        if (name === 'Relu' || args.attrs?.relu) masks.set(`mask.${masks.size}`, maskOf(args.backend as tf.KernelBackend, y));
        return out;
      },
    });
    return original;
  });
  try {
    const result = fn();
    return { result, masks: toNchw(masks) };
  } finally {
    for (const original of wrapped) {
      tf.unregisterKernel(original.kernelName, 'torch');
      tf.registerKernel(original);
    }
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

for (const arch of ARCHS) {
  test(`${arch}: training-mode logits, loss and every parameter gradient on torch match PyTorch autograd in float64 (rel. L2 <= 1e-4)`, { timeout: 300_000 }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const saved = readSafetensorsSync(path.join(dir, `${arch}-state.safetensors`)).tensors;
    const state = new Map([...saved].filter(([n]) => n.startsWith('body.') || n.startsWith('head.')));
    const model = createModel({ arch, numClasses: CLASSES, ps: [0, 0], seed: 1 });
    try {
      const report = loadTorchState(model, state, `${arch} reference`, { scope: 'all', strict: true });
      assert.deepEqual(report.missing, []);
      assert.deepEqual(report.unexpected, []);
      const input = saved.get('input')!;
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(input.data, input.shape as [number, number, number, number]), [0, 2, 3, 1]));
      const y = tf.tensor1d(Int32Array.from(saved.get('labels')!.data), 'int32');
      let logits: tf.Tensor | undefined;
      const { result: { value, grads }, masks } = recordingReluMasks(() => tf.variableGrads(() => {
        const out = model.forward(x, true) as tf.Tensor2D;
        logits = tf.keep(out);
        return tf.mean(crossEntropyPerItem(out, y)) as tf.Scalar;
      }, model.params.map((p) => p.variable)));
      const masksFile = path.join(dir, `${arch}-masks.safetensors`);
      await writeSafetensors(masksFile, masks);
      python('grad', '--arch', arch, '--masks', masksFile);
      const ref = readSafetensorsSync(path.join(dir, `${arch}-grad.safetensors`)).tensors;
      const fp32Err = (name: string) => ref.get(`fp32err.${name}`)!.data[0];
      const logitErr = tf.tidy(() => relativeL2(logits!, tf.tensor(ref.get('logits')!.data, ref.get('logits')!.shape)));
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
      tf.dispose([x, y, logits!, value, ...Object.values(grads)]);
    } finally {
      model.dispose();
    }
  });
}
