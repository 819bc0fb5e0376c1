// The classification report (fastai's print_classification_report = sklearn's
// classification_report with labels = every class): per-class precision, recall, F1 and support,
// accuracy, macro and weighted averages, zero divisions 0 — checked against sklearn's formulas
// computed here straight from the labels, and against sklearn's text layout.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClassificationInterpretation, formatInterpretationText, summarize } from '../../src/trainer/interpret';
import { formatClassificationReport, summarizeInterpretation } from '../../src/trainer/interpret/summary';
import { InterpretationSummary, classificationReport } from '../../src/protocol/interpretation';

const CLASSES = ['cat', 'dog', 'fox', 'owl'];
const C = { cat: 0, dog: 1, fox: 2, owl: 3 } as const;
// owl: never an actual class, predicted once; fox is mostly missed
const Y_TRUE = [C.cat, C.cat, C.cat, C.cat, C.cat, C.dog, C.dog, C.dog, C.dog, C.fox, C.fox, C.fox];
const Y_PRED = [C.cat, C.cat, C.cat, C.dog, C.dog, C.dog, C.dog, C.cat, C.cat, C.fox, C.dog, C.owl];

function interp(): ClassificationInterpretation {
  const probs = Y_PRED.map((p) => Float32Array.from(CLASSES.map((_, k) => (k === p ? 0.7 : 0.1))));
  return ClassificationInterpretation.fromPredictions({ files: Y_TRUE.map((_, i) => `/v/${i}.png`), targets: Y_TRUE, probs, losses: Y_TRUE.map(() => 1) }, CLASSES);
}

/** sklearn's precision_recall_fscore_support(zero_division=0) from the label vectors. */
function sklearn(yTrue: number[], yPred: number[], c: number) {
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const per = Array.from({ length: c }, (_, k) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < yTrue.length; i++) {
      if (yPred[i] === k && yTrue[i] === k) tp++;
      else if (yPred[i] === k) fp++;
      else if (yTrue[i] === k) fn++;
    }
    const precision = div(tp, tp + fp);
    const recall = div(tp, tp + fn);
    return { precision, recall, f1: div(2 * precision * recall, precision + recall), support: tp + fn };
  });
  const n = yTrue.length;
  const macro = (f: (m: (typeof per)[number]) => number) => per.reduce((s, m) => s + f(m), 0) / c;
  const weighted = (f: (m: (typeof per)[number]) => number) => per.reduce((s, m) => s + m.support * f(m), 0) / n;
  return {
    per,
    accuracy: yTrue.filter((t, i) => t === yPred[i]).length / n,
    macro: { precision: macro((m) => m.precision), recall: macro((m) => m.recall), f1: macro((m) => m.f1) },
    weighted: { precision: weighted((m) => m.precision), recall: weighted((m) => m.recall), f1: weighted((m) => m.f1) },
  };
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('classification report = sklearn classification_report(labels=all classes, zero_division=0)', () => {
  const r = interp().classificationReport();
  const want = sklearn(Y_TRUE, Y_PRED, CLASSES.length);
  assert.deepEqual(r.classes.map((m) => m.name), CLASSES);
  r.classes.forEach((m, k) => {
    for (const f of ['precision', 'recall', 'f1'] as const) close(m[f], want.per[k][f], `${m.name} ${f}`);
    assert.equal(m.support, want.per[k].support);
  });
  close(r.accuracy, want.accuracy, 'accuracy');
  assert.equal(r.support, 12);
  for (const f of ['precision', 'recall', 'f1'] as const) {
    close(r.macroAvg[f], want.macro[f], `macro ${f}`);
    close(r.weightedAvg[f], want.weighted[f], `weighted ${f}`);
  }
  assert.equal(r.macroAvg.support, 12);
  assert.equal(r.weightedAvg.support, 12);
  // by hand: cat 3/5 · 3/5, dog 2/5 · 2/4, fox 1/1 · 1/3, owl 0 (never actual, predicted once)
  assert.deepEqual(r.classes[3], { name: 'owl', precision: 0, recall: 0, f1: 0, support: 0 });
  close(r.classes[1].f1, 4 / 9, 'dog f1');
  close(r.macroAvg.precision, (0.6 + 0.4 + 1 + 0) / 4, 'macro precision');
  close(r.weightedAvg.recall, (5 * 0.6 + 4 * 0.5 + 3 / 3) / 12, 'weighted recall');
  assert.deepEqual(classificationReport(['a'], [[0]]), {
    classes: [{ name: 'a', precision: 0, recall: 0, f1: 0, support: 0 }],
    accuracy: 0,
    support: 0,
    macroAvg: { precision: 0, recall: 0, f1: 0, support: 0 },
    weightedAvg: { precision: 0, recall: 0, f1: 0, support: 0 },
  }, 'nothing to divide by: zeros, never NaN');
});

test('the text form is sklearn’s layout (digits 2), and interpret prints it', () => {
  const text = formatClassificationReport(interp().classificationReport());
  const expected = [
    '              precision    recall  f1-score   support',
    '',
    '         cat       0.60      0.60      0.60         5',
    '         dog       0.40      0.50      0.44         4',
    '         fox       1.00      0.33      0.50         3',
    '         owl       0.00      0.00      0.00         0',
    '',
    '    accuracy                           0.50        12',
    '   macro avg       0.50      0.36      0.39        12',
    'weighted avg       0.63      0.50      0.52        12',
    '',
  ].join('\n');
  assert.equal(text, expected);
  const s = summarizeInterpretation(interp());
  assert.ok(formatInterpretationText(s).includes(expected));
});

test('interpretation.json carries the report and passes its schema', () => {
  const s = summarize(interp());
  const parsed = InterpretationSummary.parse(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(parsed.report, interp().classificationReport());
});
