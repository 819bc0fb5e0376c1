// Standard exports proven by real runtimes (issue 13): for resnet18/34/50 with random weights and
// BatchNorm statistics, onnxruntime-node on model.onnx and tf.loadGraphModel on the TF.js graph
// model (from disk and over http from 127.0.0.1) give the learner's probabilities within 1e-4;
// the ONNX file passes onnx.checker where python3-onnx is installed (always under CI).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../src/trainer/backend';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { exportLearner, loadAnyExport } from '../../src/trainer/export';
import { loadImageTensorData } from '../../src/trainer/learner/preprocess';
import type { ArchName } from '../../src/trainer/models/types';
import { EXPORT_MANIFEST } from '../../src/protocol/export';
import { randomisedLearner, serveStatic, writeTestImages } from '../helpers/export-models';

const TOL = 1e-4;
let tmp: string;
let images: string[];

before(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'export-formats-'));
  images = await writeTestImages(tmp, 3, 99);
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

/** python3 with the onnx package: Debian's python3-onnx lives in /usr/bin/python3's dist-packages. */
function pythonWithOnnx(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

for (const [arch, size] of [['resnet18', 32], ['resnet34', 32], ['resnet50', 32]] as [ArchName, number][]) {
  test(`${arch}: ONNX (onnxruntime-node) and TF.js graph model (tf.loadGraphModel) match the learner within ${TOL}`, { timeout: 300_000 }, async () => {
    const learner = randomisedLearner(arch, { size, c: 4, seed: 7, dir: tmp });
    try {
      const expected = [];
      for (const img of images) expected.push((await learner.predict(img)).probs);
      // the probabilities are not degenerate: folding mistakes would show
      assert.ok(expected.some((p) => Math.max(...p) < 0.99), `probabilities ${JSON.stringify(expected)}`);

      const onnxDir = path.join(tmp, `${arch}-onnx`);
      const onnxRes = await exportLearner(learner, { dir: onnxDir, format: 'onnx' });
      assert.deepEqual([...onnxRes.files].sort(), ['README.md', 'model.onnx']);
      const tfjsDir = path.join(tmp, `${arch}-tfjs`);
      const tfjsRes = await exportLearner(learner, { dir: tfjsDir, format: 'tfjs' });
      assert.deepEqual([...tfjsRes.files].sort(), ['README.md', 'metadata.json', 'model.json', 'weights.bin']);
      assert.ok(existsSync(path.join(tfjsDir, EXPORT_MANIFEST)));

      for (const dir of [onnxDir, tfjsDir]) {
        const p = await loadAnyExport(dir);
        assert.deepEqual(p.classes, learner.data.classes);
        for (let i = 0; i < images.length; i++) {
          const got = await p.predict(images[i]!);
          const d = maxDiff(got.probs, expected[i]!);
          assert.ok(d <= TOL, `${p.format} ${path.basename(images[i]!)}: max abs diff ${d}`);
        }
        p.dispose();
      }

      // the graph model over http, loaded by tfjs alone (no code of this project in the loading path)
      const server = await serveStatic({ m: tfjsDir });
      try {
        const model = await loadGraphModel(`${server.url}/m/model.json`);
        const meta = (await (await fetch(`${server.url}/m/metadata.json`)).json()) as { labels: string[]; imageSize: number };
        assert.deepEqual(meta.labels, learner.data.classes);
        assert.equal(meta.imageSize, size);
        const raw = await loadImageTensorData(images[0]!, { ...learner.preprocessing, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } });
        const probs = tf.tidy(() => model.predict(tf.tensor4d(raw, [1, size, size, 3])) as tf.Tensor);
        assert.ok(maxDiff(Array.from(await probs.data()), expected[0]!) <= TOL);
        probs.dispose();
        model.dispose();
      } finally {
        await server.close();
      }

      const card = await fs.readFile(path.join(onnxDir, 'README.md'), 'utf8');
      assert.match(card, new RegExp(`# ${arch} image classifier \\(4 classes\\)`));
      assert.match(card, /onnxruntime/);
      assert.match(card, /class0/);
      assert.match(await fs.readFile(path.join(tfjsDir, 'README.md'), 'utf8'), /tf\.loadGraphModel/);

      const py = pythonWithOnnx();
      if (!py) {
        if (process.env.CI === 'true') assert.fail('python3-onnx is missing: .ci/run installs it, so the ONNX checker must run under CI');
        return;
      }
      const check = spawnSync(py, ['-c', 'import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(m.opset_import[0].version)', path.join(onnxDir, 'model.onnx')], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      assert.ok(Number(check.stdout.trim()) >= 13);
    } finally {
      learner.dispose();
    }
  });
}
