// writeReport / runInterpret on hand-built predictions and real (tiny) image files: the JSON
// numbers, a self-contained HTML file, escaping, and the plain-text output of the CLI command.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TinyCamModel } from '../helpers/interp-model';
import { ClassificationInterpretation, runInterpret, writeReport, writeReportFiles, relabel, deleteFile, undo, summarize } from '../../src/trainer/interpret';
import type { Predictions } from '../../src/trainer/learner/types';
import type { SplitDataset } from '../../src/trainer/data/types';

const CLASSES = ['cat', 'dog', '<b>owl</b>'];

// deleteFile uses the OS trash: keep it inside a temp folder, not the real one.
const XDG = fs.mkdtempSync(path.join(os.tmpdir(), 'report-xdg-'));
process.env.XDG_DATA_HOME = XDG;
process.on('exit', () => fs.rmSync(XDG, { recursive: true, force: true }));

function handPreds(files: string[]): Predictions {
  // actual, then probabilities
  const rows: [number, number[]][] = [
    [0, [0.9, 0.05, 0.05]],
    [0, [0.2, 0.7, 0.1]],
    [1, [0.1, 0.8, 0.1]],
    [1, [0.6, 0.3, 0.1]],
    [1, [0.3, 0.6, 0.1]],
  ];
  return {
    files,
    targets: rows.map((r) => r[0]),
    probs: rows.map((r) => Float32Array.from(r[1])),
    losses: rows.map((r) => -Math.log(r[1][r[0]])),
  };
}

async function tinyImages(dir: string, n: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `img_${i}.png`);
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 30 * i } } }).png().toFile(f);
    files.push(f);
  }
  return files;
}

test('writeReport: interpretation.json holds the numbers; report.html is self-contained and escaped', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  try {
    const files = await tinyImages(dir, 5);
    const interp = ClassificationInterpretation.fromPredictions(handPreds(files), CLASSES);
    const thumbnails = new Map(await Promise.all(files.map(async (f) => [f, await sharp(f).jpeg().toBuffer()] as [string, Buffer])));
    const out = path.join(dir, 'out');
    const { jsonPath, htmlPath } = await writeReportFiles(out, interp, { thumbnails, k: 3 });
    const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    assert.deepEqual(json.confusionMatrix, [[1, 1, 0], [1, 2, 0], [0, 0, 0]]);
    assert.deepEqual(json.confusionMatrixNormalized[2], [null, null, null]);
    assert.equal(json.accuracy, 3 / 5);
    assert.deepEqual(json.mostConfused, [{ actual: 'cat', predicted: 'dog', count: 1 }, { actual: 'dog', predicted: 'cat', count: 1 }]);
    assert.equal(json.topLosses.length, 3);
    assert.equal(json.topLosses[0].file, files[1]);
    assert.equal(json.items.length, 5);
    assert.equal(json.perClass[2].recall, null);
    // sklearn's report: owl has no images and none predicted → zeros; cat 1/2 · 1/2, dog 2/3 · 2/3
    assert.deepEqual(json.report.classes[2], { name: '<b>owl</b>', precision: 0, recall: 0, f1: 0, support: 0 });
    assert.equal(json.report.accuracy, 3 / 5);
    assert.ok(Math.abs(json.report.macroAvg.f1 - (0.5 + 2 / 3 + 0) / 3) < 1e-12);
    assert.ok(Math.abs(json.report.weightedAvg.precision - (2 * 0.5 + 3 * (2 / 3)) / 5) < 1e-12);

    const html = fs.readFileSync(htmlPath, 'utf8');
    assert.ok(!/<script|<link|src="http|url\(http/i.test(html), 'no external resources or scripts');
    // 3 top losses + show_results of all 5 validation images
    assert.equal((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length, 3 + 5);
    const results = [...html.matchAll(/<figure class="result (right|wrong)"[^>]*>[\s\S]*?<span class="title">([^<]*)<\/span>/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(results, ['right cat/cat', 'wrong cat/dog', 'right dog/dog', 'wrong dog/cat', 'right dog/dog'], 'show_results: actual/predicted, green right, red wrong');
    assert.match(html, /Each title: actual \/ predicted; <span class="right">green<\/span> when right, <span class="wrong">red<\/span> when wrong\./);
    assert.match(html, /<tr class="accuracy"><th scope="row">accuracy<\/th><td><\/td><td><\/td><td>0\.60<\/td><td>5<\/td><\/tr>/);
    assert.match(html, /<th scope="row">weighted avg<\/th><td>0\.60<\/td><td>0\.60<\/td><td>0\.60<\/td><td>5<\/td>/);
    assert.ok(html.includes('&lt;b&gt;owl&lt;/b&gt;') && !html.includes('<b>owl</b>'), 'class names are escaped');
    assert.ok(html.includes('dog/cat / 1.61 / 0.20'), 'lesson-style title for the worst loss');
    assert.ok(html.includes('prefers-color-scheme: dark'));
    assert.deepEqual(fs.readdirSync(out).sort(), ['interpretation.json', 'report.html'], 'no temp files left');

    // The CLI's form: writeReport returns the report's path and makes the thumbnails itself.
    const html2 = await writeReport(path.join(dir, 'out2'), interp, { k: 3 });
    assert.equal(html2, path.join(dir, 'out2', 'report.html'));
    assert.equal((fs.readFileSync(html2, 'utf8').match(/src="data:image\/jpeg;base64,/g) ?? []).length, 3 + 5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport makes the missing folders of --out; one in a place that refuses new folders (/proc) fails at once with the folder and the fix', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-out-'));
  try {
    const files = await tinyImages(dir, 5);
    const interp = ClassificationInterpretation.fromPredictions(handPreds(files), CLASSES);
    const nested = path.join(dir, 'a', 'b', 'out');
    assert.equal(await writeReport(nested, interp, { thumbnails: false }), path.join(nested, 'report.html'));
    // Node's recursive mkdir retries forever here; the test would time out instead of failing.
    const bad = '/proc/self/no-such-folder/report';
    await assert.rejects(writeReport(bad, interp, { thumbnails: false }), (e: Error & { file?: string; fix?: string }) => {
      assert.equal(e.name, 'InterpretError');
      assert.match(e.message, /Cannot create the report folder/);
      assert.equal(e.file, bad);
      assert.match(e.fix ?? '', /--out folder you can write to/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runInterpret prints most confused and top losses and writes the report', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  try {
    const files = await tinyImages(dir, 5);
    files[4] = path.join(dir, 'missing.png'); // an unreadable file: a warning, not a failure
    let calls = 0;
    const learner = { data: { classes: CLASSES }, getPreds: async () => (calls++, handPreds(files)) };
    let text = '';
    const res = await runInterpret({ learner, outDir: path.join(dir, 'out'), k: 5, out: { write: (s: string) => (text += s) } });
    assert.equal(calls, 1);
    assert.match(text, /Most confused \(actual -> predicted: count\):\n {2}cat -> dog: 1\n {2}dog -> cat: 1\n/);
    assert.match(text, /Top losses[^\n]*\n {2}dog\/cat \/ 1\.61 \/ 0\.20 +img_1\.png\n {2}cat\/dog \/ 1\.20 \/ 0\.30 +img_3\.png\n/);
    assert.match(text, /accuracy: 60\.00% {3}error_rate: 40\.00%/);
    assert.match(text, /Classification report:\n {14}precision {4}recall {2}f1-score {3}support\n\n {9}cat {7}0\.50 {6}0\.50 {6}0\.50 {9}2\n/);
    assert.ok(fs.existsSync(res.htmlPath) && fs.existsSync(res.jsonPath));
    assert.equal(res.warnings.length, 1);
    assert.match(res.warnings[0], /missing\.png: no preview/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('heatmaps: a 1×1 feature map gives the plain image and a note instead of a flat colour wash', async () => {
  await tf.setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  try {
    const files = await tinyImages(dir, 5);
    const interp = ClassificationInterpretation.fromPredictions(handPreds(files), CLASSES);
    const model = new TinyCamModel(3, 1);
    const norm = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
    const tiny = await writeReportFiles(path.join(dir, 'a'), interp, { k: 2, heatmapsFrom: { model, data: { classes: CLASSES, size: 2, normalize: norm } } });
    const html = fs.readFileSync(tiny.htmlPath, 'utf8');
    assert.equal((html.match(/no heatmap: the last conv block is 1×1 at this image size/g) ?? []).length, 2);
    assert.ok(!html.includes('with Grad-CAM heatmap'));
    const big = await writeReportFiles(path.join(dir, 'b'), interp, { k: 2, heatmapsFrom: { model, data: { classes: CLASSES, size: 16, normalize: norm } } });
    const html2 = fs.readFileSync(big.htmlPath, 'utf8');
    const heat = (html2.match(/with Grad-CAM heatmap/g) ?? []).length;
    const notes = (html2.match(/class="note"/g) ?? []).length;
    assert.equal(heat + notes, 2);
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('summarize returns plain JSON (no typed arrays) for the child-process protocol', () => {
  const interp = ClassificationInterpretation.fromPredictions(handPreds(['a', 'b', 'c', 'd', 'e']), CLASSES);
  const s = summarize(interp, { k: 2 });
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
});

test('session functions keep the open dataset in step with relabel / delete / undo', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-'));
  try {
    for (const f of ['train/cat/1.png', 'train/dog/2.png', 'valid/cat/3.png']) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), f);
    }
    const p = (f: string) => path.join(root, f);
    const ds: SplitDataset = {
      root,
      rule: { kind: 'folder', train: 'train', valid: 'valid' },
      classes: ['cat', 'dog'],
      c: 2,
      train: { items: [p('train/cat/1.png'), p('train/dog/2.png')], y: [0, 1] },
      valid: { items: [p('valid/cat/3.png')], y: [0] },
      skipped: [],
    };
    await relabel(ds, p('valid/cat/3.png'), 'dog');
    assert.deepEqual(ds.valid, { items: [p('valid/dog/3.png')], y: [1] });
    await deleteFile(ds, p('train/cat/1.png'));
    assert.deepEqual(ds.train, { items: [p('train/dog/2.png')], y: [1] });
    await undo(ds);
    assert.deepEqual(ds.train, { items: [p('train/dog/2.png'), p('train/cat/1.png')], y: [1, 0] });
    assert.ok(fs.existsSync(p('train/cat/1.png')));
    await undo(ds);
    assert.deepEqual(ds.valid, { items: [p('valid/cat/3.png')], y: [0] });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
