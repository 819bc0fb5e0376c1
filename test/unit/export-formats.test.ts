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

test('CLI: export --model RUN_DIR --format onnx|tfjs, then predict --topk on each format prints the learner\'s probabilities', { timeout: 300_000 }, async () => {
  const bin = path.join(__dirname, '../../../bin/image-trainer.js');
  const run = path.join(tmp, 'cli-run');
  const learner = randomisedLearner('resnet18', { size: 32, c: 3, seed: 11, dir: run });
  const expected = (await learner.predict(images[1]!)).probs;
  await learner.export(path.join(run, 'export'));
  learner.dispose();
  await fs.writeFile(path.join(run, 'metrics.json'), JSON.stringify({ epochs: [{ epoch: 0, train_loss: 0.5, valid_loss: 0.4, error_rate: 0.125, accuracy: 0.875 }] }));
  const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, IMAGE_TRAINER_WASM_THREADS: '1' } });
  for (const format of ['onnx', 'tfjs'] as const) {
    const ex = cli(['export', '--model', run, '--format', format, '--json', '--backend', 'cpu']);
    assert.equal(ex.status, 0, ex.stderr);
    const res = JSON.parse(ex.stdout.trim().split('\n').pop()!) as { dir: string; format: string };
    assert.equal(res.dir, path.join(run, `export-${format}`));
    assert.match(await fs.readFile(path.join(res.dir, 'README.md'), 'utf8'), /error rate 0\.1250/);
    const pr = cli(['predict', '--model', res.dir, '--topk', '2', '--json', '--backend', 'cpu', images[1]!]);
    assert.equal(pr.status, 0, pr.stderr);
    const line = JSON.parse(pr.stdout.trim().split('\n').pop()!) as { probs: number[]; top: { className: string; probability: number }[] };
    assert.ok(maxDiff(line.probs, expected) <= TOL);
    assert.equal(line.top.length, 2);
    assert.ok(line.top[0]!.probability >= line.top[1]!.probability);
    assert.equal(line.top[0]!.probability, Math.max(...line.probs));
  }
  // an export over the user's files is refused before anything is written
  const mine = path.join(tmp, 'mine');
  await fs.mkdir(mine);
  await fs.writeFile(path.join(mine, 'photo.jpg'), 'x');
  const refused = cli(['export', '--model', run, '--format', 'onnx', '--out', mine]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /not an Image Trainer export/);
  assert.deepEqual(await fs.readdir(mine), ['photo.jpg']);
});
