// ClassificationInterpretation on hand-built prediction sets whose answers are worked out by hand.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClassificationInterpretation } from '../../src/trainer/interpret/interpretation';
import type { Predictions } from '../../src/trainer/learner/types';

/** Items as [actual, predicted, confidence of the prediction]; the rest of the mass is spread evenly. */
function preds(classes: string[], rows: [number, number, number][]): Predictions {
  const c = classes.length;
  const probs = rows.map(([, p, conf]) => {
    const v = new Float32Array(c).fill((1 - conf) / (c - 1));
    v[p] = conf;
    return v;
  });
  return {
    files: rows.map((_, i) => `/data/img_${i}.png`),
    targets: rows.map(([a]) => a),
    probs,
    losses: rows.map(([a], i) => -Math.log(probs[i][a])),
  };
}

const CLASSES = ['cat', 'dog', 'fox', 'owl']; // 'owl' has no validation items
// actual → predicted: cat→cat ×3, cat→dog ×2, dog→dog ×2, dog→cat ×2, fox→dog ×1, fox→fox ×1, fox→owl ×1
const ROWS: [number, number, number][] = [
  [0, 0, 0.9], [0, 0, 0.8], [0, 0, 0.7], [0, 1, 0.6], [0, 1, 0.95],
  [1, 1, 0.9], [1, 1, 0.6], [1, 0, 0.7], [1, 0, 0.55],
  [2, 1, 0.5], [2, 2, 0.9], [2, 3, 0.4],
];

test('confusion matrix counts: rows actual, columns predicted', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  assert.deepEqual(interp.confusionMatrix(), [
    [3, 2, 0, 0],
    [2, 2, 0, 0],
    [0, 1, 1, 1],
    [0, 0, 0, 0],
  ]);
});

test('normalised rows sum to 1; a class with no validation items gets nulls, not NaN', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  const n = interp.confusionMatrix({ normalize: true });
  assert.deepEqual(n[0], [0.6, 0.4, 0, 0]);
  assert.deepEqual(n[1], [0.5, 0.5, 0, 0]);
  assert.deepEqual(n[2].map((v) => Number((v as number).toFixed(6))), [0, 0.333333, 0.333333, 0.333333]);
  assert.deepEqual(n[3], [null, null, null, null]);
});

test('mostConfused: count descending, ties in row-major (actual, predicted) order, minVal filters', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  assert.deepEqual(interp.mostConfused(), [
    { actual: 'cat', predicted: 'dog', count: 2 },
    { actual: 'dog', predicted: 'cat', count: 2 },
    { actual: 'fox', predicted: 'dog', count: 1 },
    { actual: 'fox', predicted: 'owl', count: 1 },
  ]);
  assert.deepEqual(interp.mostConfused(2).map((p) => `${p.actual}>${p.predicted}`), ['cat>dog', 'dog>cat']);
  assert.deepEqual(interp.mostConfused(3), []);
});

test('precision, recall, F1 per class; undefined ones are null', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  const [cat, dog, fox, owl] = interp.perClass();
  // cat: TP 3, predicted 5, support 5
  assert.equal(cat.precision, 3 / 5);
  assert.equal(cat.recall, 3 / 5);
  assert.ok(Math.abs((cat.f1 as number) - 0.6) < 1e-12);
  // dog: TP 2, predicted 5 (2 + 2 cats + 1 fox), support 4
  assert.equal(dog.precision, 2 / 5);
  assert.equal(dog.recall, 2 / 4);
  assert.ok(Math.abs((dog.f1 as number) - (2 * 0.4 * 0.5) / 0.9) < 1e-12);
  // fox: TP 1, predicted 1, support 3
  assert.deepEqual([fox.precision, fox.recall, fox.support, fox.predictedCount], [1, 1 / 3, 3, 1]);
  assert.ok(Math.abs((fox.f1 as number) - 0.5) < 1e-12);
  // owl: no validation items, predicted once (wrongly) → precision 0, recall and F1 undefined
  assert.deepEqual(owl, { name: 'owl', support: 0, predictedCount: 1, precision: 0, recall: null, f1: null });
  for (const m of interp.perClass()) for (const v of [m.precision, m.recall, m.f1]) assert.ok(v === null || Number.isFinite(v));
});

test('a class nobody predicts and nobody has: all null', () => {
  const classes = ['a', 'b', 'c'];
  const interp = ClassificationInterpretation.fromPredictions(preds(classes, [[0, 0, 0.9], [1, 0, 0.6]]), classes);
  const c = interp.perClass()[2];
  assert.deepEqual([c.precision, c.recall, c.f1], [null, null, null]);
  // b has an image but nothing was predicted as b: precision undefined, recall and F1 0
  const b = interp.perClass()[1];
  assert.deepEqual([b.precision, b.recall, b.f1], [null, 0, 0]);
  assert.equal(interp.macroAverage().recall, 0.5);
});

test('accuracy and error rate', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  assert.equal(interp.accuracy(), 6 / 12);
  assert.equal(interp.errorRate(), 0.5);
  const empty = ClassificationInterpretation.fromPredictions({ files: [], targets: [], probs: [], losses: [] }, CLASSES);
  assert.equal(empty.accuracy(), null);
  assert.equal(empty.errorRate(), null);
  assert.deepEqual(empty.mostConfused(), []);
});

test('topLosses: largest first with predicted/actual/loss/probability of the actual class', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  const top = interp.topLosses(3);
  // item 4: cat predicted dog at 0.95 → p(cat) = 0.05/3 — the worst
  assert.equal(top[0].index, 4);
  assert.equal(top[0].actual, 'cat');
  assert.equal(top[0].predicted, 'dog');
  assert.ok(Math.abs(top[0].probability - 0.05 / 3) < 1e-6);
  assert.ok(Math.abs(top[0].loss - -Math.log(0.05 / 3)) < 1e-5);
  // then the 0.7-confident miss (item 7, p = 0.1), then the 0.6 ones (3 and 8 tie in losses?)
  assert.equal(top[1].index, 7);
  const losses = interp.topLosses(100).map((t) => t.loss);
  for (let i = 1; i < losses.length; i++) assert.ok(losses[i - 1] >= losses[i]);
  assert.equal(interp.topLosses(100).length, 12);
  assert.equal(interp.topLosses(0).length, 0);
});

test('topLosses ties keep validation order', () => {
  const classes = ['a', 'b'];
  const p = preds(classes, [[0, 0, 0.9], [0, 1, 0.8], [1, 0, 0.8], [1, 1, 0.5], [0, 1, 0.8]]);
  p.losses = [0.1, 2, 2, 0.7, 2];
  const interp = ClassificationInterpretation.fromPredictions(p, classes);
  assert.deepEqual(interp.topLosses(4).map((t) => t.index), [1, 2, 4, 3]);
});

test('cellItems returns the items behind a cell, by name or index', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  assert.deepEqual(interp.cellItems('dog', 'cat').map((it) => it.index), [7, 8]);
  assert.deepEqual(interp.cellItems(2, 3).map((it) => it.file), ['/data/img_11.png']);
  assert.deepEqual(interp.cellItems('owl', 'owl'), []);
  assert.throws(() => interp.cellItems('wolf', 'cat'), /Unknown class 'wolf'/);
});

test('showResults: first n with labels and correctness', () => {
  const interp = ClassificationInterpretation.fromPredictions(preds(CLASSES, ROWS), CLASSES);
  const r = interp.showResults(4);
  assert.deepEqual(r.map((x) => [x.actual, x.predicted, x.correct]), [
    ['cat', 'cat', true], ['cat', 'cat', true], ['cat', 'cat', true], ['cat', 'dog', false],
  ]);
  assert.ok(Math.abs(r[3].confidence - 0.6) < 1e-6);
});

test('missing losses are computed as cross-entropy; argmax ties pick the first class', () => {
  const classes = ['a', 'b'];
  const interp = ClassificationInterpretation.fromPredictions(
    { files: ['x', 'y'], targets: [1, 0], probs: [Float32Array.from([0.25, 0.75]), Float32Array.from([0.5, 0.5])], losses: undefined as unknown as number[] },
    classes,
  );
  assert.ok(Math.abs(interp.items[0].loss - -Math.log(0.75)) < 1e-6);
  assert.equal(interp.items[1].predicted, 0);
});

test('fromLearner runs one getPreds pass', async () => {
  let calls = 0;
  const learner = {
    data: { classes: CLASSES },
    getPreds: async (split: 'valid') => {
      assert.equal(split, 'valid');
      calls++;
      return preds(CLASSES, ROWS);
    },
  };
  const interp = await ClassificationInterpretation.fromLearner(learner);
  assert.equal(calls, 1);
  assert.equal(interp.length, 12);
});

test('inconsistent predictions are refused with a clear error', () => {
  const p = preds(CLASSES, ROWS);
  assert.throws(() => ClassificationInterpretation.fromPredictions({ ...p, targets: p.targets.slice(1) }, CLASSES), /inconsistent/);
  assert.throws(() => ClassificationInterpretation.fromPredictions(p, ['cat', 'dog']), (e: Error & { file?: string }) => /4 probabilities but there are 2 classes/.test(e.message) && e.file === '/data/img_0.png');
  assert.throws(() => ClassificationInterpretation.fromPredictions({ ...p, targets: p.targets.map(() => 9) }, CLASSES), /not a class index/);
});
