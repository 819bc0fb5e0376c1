// fastai's ClassificationInterpretation: the validation set's predictions, kept per item, and the
// views the lesson uses (top losses, confusion matrix, most confused, show_results) plus per-class
// precision / recall / F1.
import { classificationReport, type ClassificationReport, type ClassMetrics, type ConfusedPair, type TopLoss } from '../../protocol/interpretation';
import type { Predictions } from '../learner/types';
import { InterpretError } from './errors';

export interface InterpItem {
  /** Position in the validation set (the order getPreds returned). */
  index: number;
  file: string;
  /** Class indices into `classes`. */
  actual: number;
  predicted: number;
  probs: Float32Array;
  /** Cross-entropy of the actual class. */
  loss: number;
}

export interface ResultItem {
  index: number;
  file: string;
  actual: string;
  predicted: string;
  correct: boolean;
  /** Probability of the predicted class. */
  confidence: number;
}

/** The minimum a learner must offer for fromLearner (structural, so any Learner class fits). */
export interface PredictionSource {
  getPreds(split: 'valid'): Predictions | Promise<Predictions>;
  data: { classes: string[] };
}

export class ClassificationInterpretation {
  readonly classes: string[];
  readonly items: readonly InterpItem[];

  private constructor(classes: string[], items: InterpItem[]) {
    this.classes = classes;
    this.items = items;
  }

  /** One batched pass over the validation set via learner.getPreds('valid'). */
  static async fromLearner(learner: PredictionSource): Promise<ClassificationInterpretation> {
    const preds = await learner.getPreds('valid');
    if (preds.files.length === 0) {
      throw new InterpretError('There is nothing to interpret: the validation set has no images', {
        fix: 'open the dataset with a validation split (e.g. --valid-pct 0.2, or a valid/ folder with images) and try again',
      });
    }
    return ClassificationInterpretation.fromPredictions(preds, learner.data.classes);
  }

  static fromPredictions(preds: Predictions, classes: readonly string[]): ClassificationInterpretation {
    const c = classes.length;
    if (c === 0) throw new InterpretError('Interpretation needs at least one class; the class list is empty.');
    const n = preds.files.length;
    if (preds.targets.length !== n || preds.probs.length !== n || (preds.losses && preds.losses.length !== n)) {
      throw new InterpretError(
        `Predictions are inconsistent: ${n} files, ${preds.targets.length} targets, ${preds.probs.length} probability rows, ${preds.losses?.length ?? 0} losses.`,
        { fix: 'Pass the unmodified result of learner.getPreds(\'valid\').' },
      );
    }
    const items: InterpItem[] = [];
    for (let i = 0; i < n; i++) {
      const actual = preds.targets[i];
      const probs = preds.probs[i];
      if (!Number.isInteger(actual) || actual < 0 || actual >= c) {
        throw new InterpretError(`Target ${actual} of item ${i} is not a class index (0..${c - 1}).`, { file: preds.files[i] });
      }
      if (probs.length !== c) {
        throw new InterpretError(`Item ${i} has ${probs.length} probabilities but there are ${c} classes.`, {
          file: preds.files[i],
          fix: 'Interpret with the class list the model was trained on.',
        });
      }
      const loss = preds.losses?.[i] ?? -Math.log(Math.max(probs[actual], 1e-12));
      items.push({ index: i, file: preds.files[i], actual, predicted: argmax(probs), probs, loss });
    }
    return new ClassificationInterpretation([...classes], items);
  }

  get length(): number {
    return this.items.length;
  }

  /**
   * The k largest losses, largest first. Ties keep validation order (lower index first), so the
   * result is the same on every run.
   */
  topLosses(k = 9): TopLoss[] {
    const order = this.items.map((it) => it.index);
    order.sort((a, b) => this.items[b].loss - this.items[a].loss || a - b);
    return order.slice(0, Math.max(0, k)).map((i) => this.named(this.items[i]));
  }

  /** An item with class names and the probability of its actual class (top losses, interpretation.json). */
  named(it: InterpItem): TopLoss {
    return { index: it.index, file: it.file, predicted: this.classes[it.predicted], actual: this.classes[it.actual], loss: it.loss, probability: it.probs[it.actual] };
  }

  /** Rows = actual class, columns = predicted class, counts. */
  confusionMatrix(): number[][];
  /** Row-normalised rates; a class with no validation items gets a row of nulls. */
  confusionMatrix(opts: { normalize: true }): (number | null)[][];
  confusionMatrix(opts?: { normalize?: boolean }): number[][] | (number | null)[][];
  confusionMatrix(opts: { normalize?: boolean } = {}): number[][] | (number | null)[][] {
    const c = this.classes.length;
    const cm = Array.from({ length: c }, () => new Array<number>(c).fill(0));
    for (const it of this.items) cm[it.actual][it.predicted]++;
    if (!opts.normalize) return cm;
    return cm.map((row) => {
      const sum = row.reduce((s, v) => s + v, 0);
      return row.map((v) => (sum === 0 ? null : v / sum));
    });
  }

  /**
   * Off-diagonal cells with count ≥ minVal, by count descending; ties in row-major order (actual
   * class index, then predicted class index) — the order fastai's stable sort gives.
   */
  mostConfused(minVal = 1): ConfusedPair[] {
    const cm = this.confusionMatrix();
    const out: ConfusedPair[] = [];
    for (let a = 0; a < cm.length; a++) {
      for (let p = 0; p < cm.length; p++) {
        if (a !== p && cm[a][p] >= minVal && cm[a][p] > 0) out.push({ actual: this.classes[a], predicted: this.classes[p], count: cm[a][p] });
      }
    }
    // Array.prototype.sort is stable, so equal counts keep the row-major order above.
    return out.sort((x, y) => y.count - x.count);
  }

  /** The items behind one confusion-matrix cell, in validation order. Accepts names or indices. */
  cellItems(actual: string | number, predicted: string | number): InterpItem[] {
    const a = this.classIndex(actual);
    const p = this.classIndex(predicted);
    return this.items.filter((it) => it.actual === a && it.predicted === p);
  }

  perClass(): ClassMetrics[] {
    const cm = this.confusionMatrix();
    return this.classes.map((name, k) => {
      const tp = cm[k][k];
      const support = cm[k].reduce((s, v) => s + v, 0);
      const predictedCount = cm.reduce((s, row) => s + row[k], 0);
      const precision = predictedCount === 0 ? null : tp / predictedCount;
      const recall = support === 0 ? null : tp / support;
      // 2TP/(2TP+FP+FN): the harmonic mean of precision and recall where both exist, and 0 for a
      // class that has images but was never predicted (all of them missed).
      const f1 = support === 0 ? null : (2 * tp) / (support + predictedCount);
      return { name, support, predictedCount, precision, recall, f1 };
    });
  }

  /** Mean over classes whose value is defined; null when none is. */
  macroAverage(): { precision: number | null; recall: number | null; f1: number | null } {
    const per = this.perClass();
    const mean = (xs: (number | null)[]): number | null => {
      const ok = xs.filter((x): x is number => x !== null);
      return ok.length === 0 ? null : ok.reduce((s, v) => s + v, 0) / ok.length;
    };
    return { precision: mean(per.map((m) => m.precision)), recall: mean(per.map((m) => m.recall)), f1: mean(per.map((m) => m.f1)) };
  }

  /** sklearn's classification_report over every class (fastai's print_classification_report); zero divisions 0. */
  classificationReport(): ClassificationReport {
    return classificationReport(this.classes, this.confusionMatrix());
  }

  /** Fraction of validation items predicted correctly; null for an empty validation set. */
  accuracy(): number | null {
    if (this.items.length === 0) return null;
    return this.items.filter((it) => it.actual === it.predicted).length / this.items.length;
  }

  /** 1 − accuracy (fastai's error_rate); null for an empty validation set. */
  errorRate(): number | null {
    const acc = this.accuracy();
    return acc === null ? null : 1 - acc;
  }

  /** The first n validation items with actual and predicted labels (learn.show_results). */
  showResults(n = 9): ResultItem[] {
    return this.items.slice(0, Math.max(0, n)).map((it) => ({
      index: it.index,
      file: it.file,
      actual: this.classes[it.actual],
      predicted: this.classes[it.predicted],
      correct: it.actual === it.predicted,
      confidence: it.probs[it.predicted],
    }));
  }

  private classIndex(cls: string | number): number {
    const k = typeof cls === 'number' ? cls : this.classes.indexOf(cls);
    if (!Number.isInteger(k) || k < 0 || k >= this.classes.length) {
      throw new InterpretError(`Unknown class '${cls}'. Known classes: ${this.classes.join(', ')}.`);
    }
    return k;
  }
}

/** Index of the largest value; the first one on ties (as torch.argmax). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}
