// Contract of the data pipeline: what labelling returns, what the loaders yield.
// Shared by the learner, interpretation, the CLI, the child process and the tests.
import type { TransformSpec } from '../../protocol/dataset';

/** How labels were derived; kept so the UI can show it and the cleaner can relabel a file. */
export type LabelRule =
  | { kind: 'nameRe'; pattern: string; /** RegExp flags (e.g. 'i'), when the pattern had any. */ flags?: string }
  | { kind: 'folder'; train: string; valid: string | null }
  | { kind: 'csv'; csvFile: string; fnCol: string; labelCol: string }
  | { kind: 'nameFunc' };

/** A file that was found but not used, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** Result of every labelling function (fromNameRe, fromFolder, fromCsv, fromNameFunc). */
export interface LabelledDataset {
  root: string;
  /** Absolute image paths. */
  items: string[];
  /** labels[i] is the class name of items[i]. */
  labels: string[];
  /** Sorted unique labels. */
  classes: string[];
  /** classes.length */
  c: number;
  rule: LabelRule;
  /** Set when the folder layout fixes the split (train/ and valid/): true = validation item. */
  fixedValid?: boolean[];
  skipped: SkippedFile[];
  /** Folders the scan left out (this project's own, exports), with why: shown so nobody wonders where a class went. */
  skippedFolders?: SkippedFile[];
}

export interface SplitOptions {
  validPct?: number; // default 0.2
  seed?: number; // default 42
}

export interface ItemList {
  items: string[];
  /** Class index into classes. */
  y: number[];
}

export interface SplitDataset {
  root: string;
  rule: LabelRule;
  classes: string[];
  c: number;
  train: ItemList;
  valid: ItemList;
  skipped: SkippedFile[];
}

/** fastai get_transforms() defaults; any field false/0 switches that augmentation off. */
export interface TransformOptions {
  doFlip: boolean; // p = 0.5, horizontal
  maxRotate: number; // degrees, 10
  maxZoom: number; // 1.1
  maxWarp: number; // 0.2
  maxLighting: number; // 0.2
  pAffine: number; // 0.75
  pLighting: number; // 0.75
}

/** Transforms: aug (v2 aug_transforms / v1 get_transforms / none), resize, padMode, minScale, presize (TransformSpec). */
export interface DataBunchOptions extends TransformSpec {
  size?: number; // 224
  bs?: number; // 64
  numWorkers?: number; // os.cpus().length
  seed?: number; // 42; drives shuffling and augmentation
  tfms?: Partial<TransformOptions> | false; // magnitudes/probabilities of the augmentation; false = aug none
  normalize?: { mean: [number, number, number]; std: [number, number, number] }; // imagenet_stats
  shuffleTrain?: boolean; // true
  /** Batches loaded ahead of the one being consumed. Default 2. */
  prefetch?: number;
  /** Called once per file that fails to decode while loading (default: a console.warn line). */
  onSkip?: (skipped: SkippedFile) => void;
}

/** One batch: float32 NHWC pixels (normalized) and int labels. */
export interface Batch {
  x: Float32Array; // length n*size*size*3
  y: Int32Array; // length n
  n: number;
  size: number;
  /** Files of the batch, in order (for interpretation and debugging). */
  files: string[];
}

export interface DataLoader extends AsyncIterable<Batch> {
  /** Batches per pass (train: floor(n/bs), partial dropped; valid: ceil(n/bs)). */
  readonly length: number;
  readonly itemCount: number;
  /** Advance the epoch counter (re-shuffles and re-seeds augmentation for the next pass). */
  setEpoch(epoch: number): void;
}

export interface DataBunch {
  dataset: SplitDataset;
  classes: string[];
  c: number;
  size: number;
  bs: number;
  train: DataLoader;
  valid: DataLoader;
  normalize: { mean: [number, number, number]; std: [number, number, number] };
  /** Release worker threads. */
  close(): Promise<void>;
  /** Files that failed to decode while loading (each once); they were dropped from their batch. */
  skippedWhileLoading?: SkippedFile[];
}
