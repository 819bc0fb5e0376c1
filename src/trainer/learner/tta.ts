// fastai v2's Learner.tta(n=4, beta=0.25): the mean of n passes over the validation set with the
// training transforms, then torch.lerp(aug_preds, preds, beta) with the plain predictions.
import type { DataLoader } from '../data/types';
import type { Predictions } from './types';
import { LearnerError } from './errors';

export const TTA_DEFAULTS = { n: 4, beta: 0.25 } as const;

/** What tta needs from a learner: predictions over a split or over any loader. */
export interface TtaLearner {
  getPreds(split: 'valid' | DataLoader): Promise<Predictions>;
}

export interface TtaOptions {
  /** Augmented passes (fastai n=4). */
  n?: number;
  /** Weight of the plain predictions (fastai beta=0.25); null returns the augmented mean alone. */
  beta?: number | null;
  /** The validation set with training transforms (default: ttaLoader of the learner's data). */
  augmented: DataLoader;
}

export interface TtaResult {
  n: number;
  beta: number | null;
  files: string[];
  targets: number[];
  /** Final predictions: lerp(augmented mean, plain, beta). */
  probs: Float32Array[];
  plain: Float32Array[];
  augmented: Float32Array[];
  errorRate: number;
  plainErrorRate: number;
}

/** torch.lerp(start, end, weight) = start + weight·(end − start), per element. */
export function lerp(start: Float32Array, end: Float32Array, weight: number): Float32Array {
  const out = new Float32Array(start.length);
  for (let i = 0; i < start.length; i++) out[i] = start[i] + weight * (end[i] - start[i]);
  return out;
}

/** Element-wise mean of each item's rows across passes. */
export function meanRows(passes: Float32Array[][]): Float32Array[] {
  return passes[0].map((row, i) => {
    const out = new Float32Array(row.length);
    for (const pass of passes) for (let j = 0; j < row.length; j++) out[j] += pass[i][j];
    for (let j = 0; j < row.length; j++) out[j] /= passes.length;
    return out;
  });
}

export function errorRate(probs: Float32Array[], targets: number[]): number {
  if (probs.length === 0) return 0;
  let wrong = 0;
  probs.forEach((p, i) => {
    let best = 0;
    for (let j = 1; j < p.length; j++) if (p[j] > p[best]) best = j;
    if (best !== targets[i]) wrong++;
  });
  return wrong / probs.length;
}

export async function tta(learner: TtaLearner, opts: TtaOptions): Promise<TtaResult> {
  const n = opts.n ?? TTA_DEFAULTS.n;
  const beta = opts.beta === undefined ? TTA_DEFAULTS.beta : opts.beta;
  if (!Number.isInteger(n) || n < 1) throw new LearnerError(`tta needs n ≥ 1 augmented passes, got ${n}`, { fix: 'pass n = 4 (fastai) or another whole number' });
  if (beta !== null && !(beta >= 0 && beta <= 1)) throw new LearnerError(`tta's beta must be in [0, 1], got ${beta}`, { fix: 'pass beta = 0.25 (fastai)' });
  const passes: Float32Array[][] = [];
  let files: string[] = [];
  for (let i = 0; i < n; i++) {
    opts.augmented.setEpoch(i);
    const p = await learner.getPreds(opts.augmented);
    if (i > 0 && !sameFiles(files, p.files)) throw new LearnerError('tta: an augmented pass saw other validation files than the first (a file failed to decode midway)', { fix: 'fix or remove the unreadable file and run again' });
    files = p.files;
    passes.push(p.probs);
  }
  if (files.length === 0) throw new LearnerError('tta: the validation set is empty', { fix: 'open the dataset with a validation split (validPct > 0 or a valid/ folder)' });
  const plain = await learner.getPreds('valid');
  if (!sameFiles(files, plain.files)) throw new LearnerError('tta: the plain pass saw other validation files than the augmented ones', { fix: 'fix or remove the unreadable file and run again' });
  const augmented = meanRows(passes);
  const probs = beta === null ? augmented : augmented.map((a, i) => lerp(a, plain.probs[i], beta));
  return {
    n, beta, files, targets: plain.targets, probs, plain: plain.probs, augmented,
    errorRate: errorRate(probs, plain.targets),
    plainErrorRate: errorRate(plain.probs, plain.targets),
  };
}

function sameFiles(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
