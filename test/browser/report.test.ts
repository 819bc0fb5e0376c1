// The interpretation report as a person sees it: a tiny model trained here, real image files, the
// CLI's runInterpret, then report.html opened in Debian's chromium (headless). Screenshots are kept
// under .test-output/interpretation/ (light and dark colour schemes).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Browser } from 'playwright-core';
import { runInterpret, topLossTitle, type RunInterpretResult } from '../../src/trainer/interpret';
import { TinyCamModel, drawSquares, randomSquare, seededRandom, trainOnSquares, writeRgbPng } from '../helpers/interp-model';
import { FileLearner } from '../helpers/interp-learner';
import { launchChromium, needsChromium } from '../helpers/chromium';

const ROOT = path.resolve(__dirname, '../../..');
const OUT = path.join(ROOT, '.test-output', 'interpretation');
const SIZE = 16;
const SIDE = 5;
const CLASSES = ['red', 'blue', 'green'];
const skip = needsChromium;

let tmp: string;
let browser: Browser | undefined;
let result: RunInterpretResult;
let stdout = '';

before(async () => {
  if (skip) return;
  await tf.setBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-browser-'));
  const model = new TinyCamModel(3, 7);
  trainOnSquares(model, { size: SIZE, side: SIDE, steps: 40, bs: 9, seed: 11 });
  // 24 validation images; every 5th is saved under the wrong class name (a labelling mistake),
  // so the matrix has off-diagonal cells and the top losses are those files.
  const rand = seededRandom(2024);
  const valid: { file: string; y: number }[] = [];
  for (let i = 0; i < 24; i++) {
    const drawn = i % 3;
    const y = i % 5 === 4 ? (drawn + 1) % 3 : drawn;
    const file = path.join(tmp, `${CLASSES[y]}_${i}.png`);
    await writeRgbPng(file, drawSquares(SIZE, [randomSquare(SIZE, SIDE, drawn, rand)], SIDE, rand), SIZE, 8);
    valid.push({ file, y });
  }
  const learner = new FileLearner(model, CLASSES, SIZE, valid);
  fs.rmSync(OUT, { recursive: true, force: true });
  result = await runInterpret({ learner, outDir: OUT, k: 9, out: { write: (s: string) => (stdout += s) }, title: 'Squares: interpretation' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('runInterpret printed the most confused pairs and the top losses', { skip }, () => {
  assert.match(stdout, /Most confused \(actual -> predicted: count\):/);
  for (const p of result.summary.mostConfused) assert.ok(stdout.includes(`  ${p.actual} -> ${p.predicted}: ${p.count}\n`));
  assert.ok(stdout.includes(topLossTitle(result.summary.topLosses[0])));
  assert.equal(result.warnings.length, 0, result.warnings.join('\n'));
});

test('report.html shows the matrix, the titles and the heatmaps in chromium', { skip, timeout: 120_000 }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto('file://' + result.htmlPath);

  const s = result.summary;
  assert.equal(await page.locator('table.matrix td.cell').count(), CLASSES.length ** 2);
  for (let a = 0; a < CLASSES.length; a++) {
    for (let p = 0; p < CLASSES.length; p++) {
      const cell = page.locator(`td.cell[data-actual="${CLASSES[a]}"][data-predicted="${CLASSES[p]}"]`);
      assert.equal(Number(await cell.textContent()), s.confusionMatrix[a][p], `cell ${CLASSES[a]}→${CLASSES[p]}`);
    }
  }
  const titles = await page.locator('#top-losses figcaption .title').allTextContents();
  assert.deepEqual(titles, s.topLosses.map(topLossTitle));
  const imgs = page.locator('#top-losses img');
  assert.equal(await imgs.count(), 9);
  const widths = await imgs.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).naturalWidth));
  assert.ok(widths.every((w) => w >= 192), `images decoded: ${widths.join(',')}`);
  // Every card has a heatmap or says why not (an all-zero map: nothing speaks for the class).
  const heat = await page.locator('#top-losses img[alt$="with Grad-CAM heatmap"]').count();
  const notes = await page.locator('#top-losses figcaption .note').count();
  assert.equal(heat + notes, 9);
  assert.ok(heat >= 2, `${heat} heatmaps`);
  assert.equal(await page.locator('#classification-report tbody tr').count(), CLASSES.length);
  assert.equal((await page.locator('#classification-report tr.accuracy td').nth(2).textContent())?.trim(), s.report.accuracy.toFixed(2));
  // show_results: the first 9 validation images, "actual/predicted", green when right, red when wrong
  const shown = s.items.slice(0, 9);
  assert.deepEqual(await page.locator('#show-results figcaption .title').allTextContents(), shown.map((t) => `${t.actual}/${t.predicted}`));
  const colours = await page.locator('#show-results figcaption .title').evaluateAll((els) => els.map((e) => getComputedStyle(e).color));
  assert.deepEqual(colours, shown.map((t) => (t.actual === t.predicted ? 'rgb(26, 127, 55)' : 'rgb(207, 34, 46)')));
  assert.ok(shown.some((t) => t.actual !== t.predicted) && shown.some((t) => t.actual === t.predicted), 'both colours are on the page');
  assert.match((await page.locator('#show-results .legend').textContent()) ?? '', /^Each title: actual \/ predicted; green when right, red when wrong\.$/);
  const shownImgs = await page.locator('#show-results img').evaluateAll((els) => els.map((e) => (e as HTMLImageElement).naturalWidth));
  assert.equal(shownImgs.length, 9);
  assert.ok(shownImgs.every((w) => w >= 192), `show_results images decoded: ${shownImgs.join(',')}`);
  assert.equal((await page.locator('#error-rate').textContent())?.trim(), `${((s.errorRate ?? 0) * 100).toFixed(2)}%`);
  assert.deepEqual(errors, []);

  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(13, 17, 23)', 'dark colour scheme applied');
  await page.screenshot({ path: path.join(OUT, 'report-dark.png'), fullPage: true });
  await page.close();
  assert.ok(fs.statSync(path.join(OUT, 'report.png')).size > 10_000);
});
