// The TF.js graph-model export in a real browser (issue 13): Debian's chromium, headless, loads
// the published @tensorflow/tfjs bundle and the export from a page served on 127.0.0.1, calls
// tf.loadGraphModel on it, and gets the learner's probabilities within 1e-4 for resnet18/34/50.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { tf } from '../../src/trainer/backend';
import { exportLearner } from '../../src/trainer/export';
import { loadImageTensorData } from '../../src/trainer/learner/preprocess';
import type { ArchName } from '../../src/trainer/models/types';
import { randomisedLearner, serveStatic, writeTestImages } from '../helpers/export-models';
import { launchChromium, needsChromium } from '../helpers/chromium';

const TFJS_DIST = path.resolve(__dirname, '../../../node_modules/@tensorflow/tfjs/dist');
const skip = needsChromium;
const PAGE = `<!doctype html><meta charset="utf-8"><title>graph model</title>
<script src="/tfjs/tf.min.js"></script>
<script>
window.classify = async (url, x, shape) => {
  await tf.setBackend('cpu');
  const model = await tf.loadGraphModel(url);
  const meta = await (await fetch(url.replace('model.json', 'metadata.json'))).json();
  const probs = tf.tidy(() => model.predict(tf.tensor(x, shape)));
  const out = Array.from(await probs.data());
  probs.dispose(); model.dispose();
  return { probs: out, labels: meta.labels, imageSize: meta.imageSize };
};
</script>`;

let tmp: string;
let browser: Browser | undefined;
let images: string[];

before(async () => {
  if (skip) return;
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'export-browser-'));
  images = await writeTestImages(tmp, 2, 5);
  await fs.writeFile(path.join(tmp, 'index.html'), PAGE);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

for (const arch of ['resnet18', 'resnet34', 'resnet50'] as ArchName[]) {
  test(`${arch}: tf.loadGraphModel in headless Chromium gives the learner's probabilities within 1e-4`, { skip, timeout: 300_000 }, async () => {
    const size = 32;
    const learner = randomisedLearner(arch, { size, c: 4, seed: 3, dir: tmp });
    const dir = path.join(tmp, `${arch}-tfjs`);
    let server: Awaited<ReturnType<typeof serveStatic>> | undefined;
    try {
      await exportLearner(learner, { dir, format: 'tfjs' });
      server = await serveStatic({ page: tmp, tfjs: TFJS_DIST, m: dir });
      const page = await browser!.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/page/index.html`);
      for (const img of images) {
        const expected = (await learner.predict(img)).probs;
        const x = Array.from(await loadImageTensorData(img, { ...learner.preprocessing, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } }));
        const got = (await page.evaluate(([url, data, shape]) => (window as any).classify(url, data, shape), [`${server.url}/m/model.json`, x, [1, size, size, 3]] as const)) as {
          probs: number[];
          labels: string[];
          imageSize: number;
        };
        assert.deepEqual(got.labels, learner.data.classes);
        assert.equal(got.imageSize, size);
        const d = Math.max(...got.probs.map((v, i) => Math.abs(v - expected[i]!)));
        assert.ok(d <= 1e-4, `${path.basename(img)}: max abs diff ${d}`);
      }
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await server?.close();
      learner.dispose();
    }
  });
}
