// Parity with PyTorch: random torchvision resnets (and a fastai head) made by Debian's
// python3-torch, saved as .safetensors, loaded by our weight loader and run in eval mode on the
// same input. Proves the name mapping, the NCHW → NHWC conversion, torch padding and BN semantics.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selectBackend, tf } from '../../src/trainer/backend';
import { createModel, readSafetensorsSync, loadTorchState, type ArchName } from '../../src/trainer/models';
import { relativeL2 } from './models-helpers';
import { missingDependency } from '../helpers/requires';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '../../../test/python/torch_reference.py');
const ARCHS: ArchName[] = ['resnet18', 'resnet34', 'resnet50'];
const CLASSES = 5;
const TOLERANCE = 1e-4;

let dir = '';
let skipReason: string | undefined;

before(async () => {
  await selectBackend({ prefer: process.env.IMAGE_TRAINER_TEST_BACKEND });
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    skipReason = missingDependency(`${PYTHON} with torch and torchvision`, 'apt-get install python3-torch python3-torchvision');
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parity-'));
  const run = spawnSync(PYTHON, [SCRIPT, dir, '--archs', ARCHS.join(','), '--classes', String(CLASSES)], { encoding: 'utf8' });
  assert.equal(run.status, 0, `torch_reference.py failed: ${run.stderr}`);
});

process.on('exit', () => dir && fs.rmSync(dir, { recursive: true, force: true }));

const toTensor = (t: { data: Float32Array | Int32Array; shape: number[] }) => tf.tensor(t.data, t.shape);

for (const arch of ARCHS) {
  test(`${arch}: body features, torchvision logits and fastai head logits match PyTorch (eval)`, (t) => {
    if (skipReason) return t.skip(skipReason);
    const io = readSafetensorsSync(path.join(dir, `${arch}-io.safetensors`)).tensors;
    const body = readSafetensorsSync(path.join(dir, `${arch}.safetensors`)).tensors;
    const head = readSafetensorsSync(path.join(dir, `${arch}-head.safetensors`)).tensors;
    const model = createModel({ arch, numClasses: CLASSES, seed: 1 });
    try {
      const report = loadTorchState(model, new Map([...body, ...head]), `${arch} reference`, { scope: 'all', strict: true });
      assert.deepEqual(report.missing, []);
      assert.deepEqual(report.unexpected, []);
      assert.deepEqual(report.skipped.sort(), ['fc.bias', 'fc.weight']);
      tf.tidy(() => {
        const x = tf.transpose(toTensor(io.get('input')!), [0, 2, 3, 1]) as tf.Tensor4D;
        const features = model.features(x, false);
        const featErr = relativeL2(features, tf.transpose(toTensor(io.get('features')!), [0, 2, 3, 1]));
        // torchvision's own classifier on our features: avgpool → fc
        const fcW = toTensor(body.get('fc.weight')!) as tf.Tensor2D;
        const logits = tf.add(tf.matMul(tf.mean(features, [1, 2]) as tf.Tensor2D, fcW, false, true), toTensor(body.get('fc.bias')!));
        const logitErr = relativeL2(logits, toTensor(io.get('logits')!));
        const headErr = relativeL2(model.forward(x, false), toTensor(io.get('head_logits')!));
        t.diagnostic(`${arch} relative L2: features ${featErr.toExponential(2)}, logits ${logitErr.toExponential(2)}, head logits ${headErr.toExponential(2)}`);
        assert.ok(featErr <= TOLERANCE, `features relative error ${featErr}`);
        assert.ok(logitErr <= TOLERANCE, `torchvision logits relative error ${logitErr}`);
        assert.ok(headErr <= TOLERANCE, `fastai head logits relative error ${headErr}`);
      });
    } finally {
      model.dispose();
    }
  });
}
