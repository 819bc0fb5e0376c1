// Grad-CAM on a tiny model trained here: images hold a coloured square at a random position and the
// square's colour decides the class. A correct Grad-CAM peaks over the square wherever it is, and,
// with a red and a blue square in one image, over the square of the class asked for.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import sharp from 'sharp';
import { computeGradCam, gradCamForFile, renderOverlayPng } from '../../src/trainer/interpret/gradcam';
import { gradCam } from '../../src/trainer/interpret';
import { gradCamEmptyReason } from '../../src/protocol/interpretation';
import { TinyCamModel, drawSquares, randomSquare, seededRandom, trainOnSquares, type Square } from '../helpers/interp-model';

const SIZE = 16;
const SIDE = 5;
let model: TinyCamModel;

before(async () => {
  await tf.setBackend('cpu');
  model = new TinyCamModel(2, 7);
  const t0 = Date.now();
  const loss = trainOnSquares(model, { size: SIZE, side: SIDE, steps: 30, bs: 8, seed: 11 });
  console.log(`# trained the tiny model in ${Date.now() - t0} ms, last batch loss ${loss.toFixed(4)}`);
});

/** Mean of the map inside and outside a square, and whether the map's peak lies on the square. */
function inspect(map: Float32Array, sq: Square): { inside: number; outside: number; peakOnSquare: boolean } {
  let inS = 0, inN = 0, outS = 0, outN = 0, peak = 0;
  for (let i = 0; i < map.length; i++) {
    const r = Math.floor(i / SIZE), c = i % SIZE;
    const on = r >= sq.top && r < sq.top + SIDE && c >= sq.left && c < sq.left + SIDE;
    if (on) { inS += map[i]; inN++; } else { outS += map[i]; outN++; }
    if (map[i] > map[peak]) peak = i;
  }
  const pr = Math.floor(peak / SIZE), pc = peak % SIZE;
  // One pixel of slack: the map is computed on an 8×8 grid and upsampled.
  const peakOnSquare = pr >= sq.top - 1 && pr <= sq.top + SIDE && pc >= sq.left - 1 && pc <= sq.left + SIDE;
  return { inside: inS / inN, outside: outS / outN, peakOnSquare };
}

test('the trained model classifies squares by colour', () => {
  const rand = seededRandom(99);
  let correct = 0;
  for (let i = 0; i < 20; i++) {
    const cls = i % 2;
    const x = drawSquares(SIZE, [randomSquare(SIZE, SIDE, cls, rand)], SIDE, rand);
    const logits = tf.tidy(() => model.forward(tf.tensor4d(x, [1, SIZE, SIZE, 3]), false).dataSync());
    if ((logits[1] > logits[0] ? 1 : 0) === cls) correct++;
  }
  assert.ok(correct >= 19, `accuracy ${correct}/20`);
});

test('Grad-CAM of the predicted class is highest over the square, wherever it is', () => {
  const rand = seededRandom(1234);
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) {
    const sq = randomSquare(SIZE, SIDE, i % 2, rand);
    const cam = computeGradCam(model, drawSquares(SIZE, [sq], SIDE, rand), SIZE);
    assert.equal(cam.predicted, sq.cls);
    assert.equal(cam.classIndex, sq.cls);
    assert.equal(cam.rawHeight, SIZE / 2);
    assert.equal(cam.map.length, SIZE * SIZE);
    const { inside, outside, peakOnSquare } = inspect(cam.map, sq);
    assert.ok(peakOnSquare, `image ${i}: peak not on the square at (${sq.top},${sq.left})`);
    assert.ok(inside > 3 * outside, `image ${i}: inside ${inside.toFixed(3)} vs outside ${outside.toFixed(3)}`);
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, 'Grad-CAM leaked tensors');
});

test('with a red and a blue square, each class lights up its own square', () => {
  const rand = seededRandom(77);
  const red: Square = { cls: 0, top: 2, left: 2 };
  const blue: Square = { cls: 1, top: 10, left: 10 };
  const x = drawSquares(SIZE, [red, blue], SIDE, rand);
  const forRed = computeGradCam(model, x, SIZE, { classIndex: 0 });
  const forBlue = computeGradCam(model, x, SIZE, { classIndex: 1 });
  assert.ok(inspect(forRed.map, red).peakOnSquare, 'class 0 map does not peak on the red square');
  assert.ok(inspect(forBlue.map, blue).peakOnSquare, 'class 1 map does not peak on the blue square');
  assert.ok(inspect(forRed.map, red).inside > inspect(forRed.map, blue).inside);
  assert.ok(inspect(forBlue.map, blue).inside > inspect(forBlue.map, red).inside);
});

test('an out-of-range class index is a clear error', () => {
  const x = new Float32Array(SIZE * SIZE * 3);
  assert.throws(() => computeGradCam(model, x, SIZE, { classIndex: 5 }), /out of range; the model has 2 classes/);
  assert.throws(() => computeGradCam(model, x.subarray(1), SIZE), /expected 16×16×3/);
});

test('gradCamForFile reads a real image and returns a PNG overlay of the requested size', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-'));
  try {
    const sq: Square = { cls: 1, top: 2, left: 9 };
    const x = drawSquares(SIZE, [sq], SIDE, seededRandom(5));
    // Save at 2× size so the loader's resize + centre crop is exercised; the model then sees 16 px.
    const big = Buffer.alloc(SIZE * 2 * SIZE * 2 * 3);
    for (let r = 0; r < SIZE * 2; r++) for (let c = 0; c < SIZE * 2; c++) for (let ch = 0; ch < 3; ch++) {
      big[(r * SIZE * 2 + c) * 3 + ch] = Math.round(255 * x[((r >> 1) * SIZE + (c >> 1)) * 3 + ch]);
    }
    const file = path.join(dir, 'blue_1.png');
    await sharp(big, { raw: { width: SIZE * 2, height: SIZE * 2, channels: 3 } }).png().toFile(file);
    const source = { model, data: { classes: ['red', 'blue'], size: SIZE, normalize: { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] } } };
    const res = await gradCamForFile(source, file, { outSize: 96 });
    assert.equal(res.className, 'blue');
    assert.equal(res.predictedName, 'blue');
    assert.ok(inspect(res.map, sq).peakOnSquare);
    const meta = await sharp(res.png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 96, 96]);
    await assert.rejects(gradCamForFile(source, path.join(dir, 'missing.png')), (e: Error & { file?: string; fix?: string }) => e.file === path.join(dir, 'missing.png') && !!e.fix);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('overlay colours follow the map: hot pixels bright, cold ones dark', async () => {
  const rgb = new Uint8Array(4 * 4 * 3).fill(128);
  const map = new Float32Array(16);
  map[0] = 1;
  const png = await renderOverlayPng(rgb, map, 4, { outSize: 4, alpha: 1 });
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[0] > 240 && data[1] > 240, 'map 1 → pale yellow');
  assert.ok(data[15 * 3] < 10 && data[15 * 3 + 2] < 10, 'map 0 → near black');
});

test('a map with no "where" is named so, not drawn as an answer: a 1x1 grid (small image sizes) or an all-zero map; the trainer\'s answer carries the reason', async () => {
  assert.match(gradCamEmptyReason({ rawHeight: 1, rawWidth: 1, raw: [0.7] }) ?? '', /last conv block is 1×1 at this image size; open the data at 128 px or more/);
  assert.equal(gradCamEmptyReason({ rawHeight: 2, rawWidth: 2, raw: [0, 0, 0, 0] }), 'nothing in the image speaks for the predicted class');
  assert.equal(gradCamEmptyReason({ rawHeight: 2, rawWidth: 2, raw: [0, 0.1, 0, 0] }), undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-note-'));
  try {
    const file = path.join(dir, 'red_1.png');
    const x = drawSquares(SIZE, [{ cls: 0, top: 4, left: 4 }], SIDE, seededRandom(9));
    await sharp(Buffer.from(x.map((v) => Math.round(255 * v))), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(file);
    const source = { model, data: { classes: ['red', 'blue'], size: SIZE, normalize: { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] } } };
    const answer = await gradCam(source, file);
    assert.equal(answer.note, gradCamEmptyReason(answer), 'the note is the shared rule applied to the map');
    assert.equal(answer.note, undefined, `an 8x8 map over a square has a "where" (${answer.rawHeight}x${answer.rawWidth})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
