// Exports part of the real Fashion-MNIST dataset (Debian package dataset-fashion-mnist, IDX
// format) as PNG files named like the pets dataset: `{class_name}_{index}.png`. Used by the
// data tests and by the learner/CLI end-to-end tests, and by scripts/make-sample-dataset.js.
import { promises as fs, existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import sharp from 'sharp';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** Label index → class name, in the dataset's label order. */
export const FASHION_MNIST_CLASSES = ['t_shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot'];
/** The lesson's pattern, adapted to .png: label = everything before `_{digits}.png`. */
export const FASHION_MNIST_PATTERN = /\/([^/]+)_\d+\.png$/;

export function fashionMnistAvailable(dir = FASHION_MNIST_DIR): boolean {
  return existsSync(path.join(dir, 't10k-images-idx3-ubyte.gz'));
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Buffer;
  labels: Buffer;
}

/** Reads one IDX split ('t10k' or 'train'): uint8 images and labels. */
export function readFashionMnist(set: 't10k' | 'train' = 't10k', dir = FASHION_MNIST_DIR): IdxImages {
  const imagesFile = path.join(dir, `${set}-images-idx3-ubyte.gz`);
  const labelsFile = path.join(dir, `${set}-labels-idx1-ubyte.gz`);
  if (!existsSync(imagesFile)) {
    throw new Error(`Fashion-MNIST not found at ${imagesFile}; install it with: apt-get install dataset-fashion-mnist`);
  }
  const img = gunzipSync(readFileSync(imagesFile));
  const lab = gunzipSync(readFileSync(labelsFile));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`${imagesFile}: not an IDX image/label file`);
  const count = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  return { count, rows, cols, pixels: img.subarray(16), labels: lab.subarray(8, 8 + count) };
}

export interface ExportOptions {
  /** Images per class (the first ones of each class in file order). Default 10. */
  perClass?: number;
  set?: 't10k' | 'train';
  /** 'names': `{class}_{n}.png` in one folder (pets layout); 'folders': `{class}/{class}_{n}.png`. */
  layout?: 'names' | 'folders';
  /** Only these classes (names from FASHION_MNIST_CLASSES). Default all ten. */
  classes?: string[];
  sourceDir?: string;
}

export interface ExportedDataset {
  dir: string;
  files: string[];
  /** Label of files[i]. */
  labels: string[];
  /** Sorted class names, as the labelling functions return them. */
  classes: string[];
}

/** Writes 28×28 grayscale PNGs; n counts from 1 within each class, in dataset order. */
export async function exportFashionMnist(dir: string, opts: ExportOptions = {}): Promise<ExportedDataset> {
  const perClass = opts.perClass ?? 10;
  const wanted = new Set(opts.classes ?? FASHION_MNIST_CLASSES);
  const data = readFashionMnist(opts.set ?? 't10k', opts.sourceDir);
  const size = data.rows * data.cols;
  const written = new Map<number, number>();
  const files: string[] = [];
  const labels: string[] = [];
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i];
    const name = FASHION_MNIST_CLASSES[label];
    const n = (written.get(label) ?? 0) + 1;
    if (!wanted.has(name) || n > perClass) continue;
    written.set(label, n);
    const sub = opts.layout === 'folders' ? path.join(dir, name) : dir;
    await fs.mkdir(sub, { recursive: true });
    const file = path.join(sub, `${name}_${n}.png`);
    const raw = data.pixels.subarray(i * size, (i + 1) * size);
    await sharp(raw, { raw: { width: data.cols, height: data.rows, channels: 1 } }).png({ compressionLevel: 9 }).toFile(file);
    files.push(file);
    labels.push(name);
    if ([...written.values()].reduce((a, b) => a + b, 0) >= perClass * wanted.size) break;
  }
  return { dir, files, labels, classes: [...wanted].sort() };
}
