import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import sharp from 'sharp';
import {
  fromNameRe, fromFolder, splitDataset, createDataBunch, showBatch, classCounts, loadImageForInference, IMAGENET_STATS,
  DataError, type Batch, type DataBunch, type DataBunchOptions, type SplitDataset, type SkippedFile,
} from '../../src/trainer/data';
import {
  makeTempDir, removeDir, writeJpeg, writePngWithAlpha, writeGrayscalePng, writeCmykJpeg, write16BitPng,
  writeExifRotatedJpeg, writeTruncatedJpeg, writeGarbageImage, writeBmp,
} from '../helpers/images';
import { exportFashionMnist, fashionMnistAvailable, FASHION_MNIST_PATTERN } from '../helpers/fashion-mnist';
import { requires } from '../helpers/requires';

const SIZE = 32;
const PER = SIZE * SIZE * 3;

async function collect(bunch: DataBunch, which: 'train' | 'valid'): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of bunch[which]) out.push(b);
  return out;
}

/** Pixels of each file in one pass, keyed by file. */
function byFile(batches: Batch[]): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const b of batches) b.files.forEach((f, k) => m.set(f, b.x.slice(k * PER, (k + 1) * PER)));
  return m;
}

const equalArrays = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('DataBunch on real Fashion-MNIST files', { skip: requires(fashionMnistAvailable(), 'Fashion-MNIST', 'apt-get install dataset-fashion-mnist') }, () => {
  let dir: string;
  let split: SplitDataset;
  const bunches: DataBunch[] = [];
  const open = async (opts: DataBunchOptions) => {
    const b = await createDataBunch(split, { size: SIZE, bs: 16, numWorkers: 0, ...opts });
    bunches.push(b);
    return b;
  };

  before(async () => {
    dir = await makeTempDir();
    await exportFashionMnist(dir, { perClass: 10 });
    split = splitDataset(await fromNameRe(dir, FASHION_MNIST_PATTERN));
  });
  after(async () => {
    await Promise.all(bunches.map((b) => b.close()));
    await removeDir(dir);
  });

  test('batch shapes, labels and value range; last partial train batch dropped, valid kept', async () => {
    const bunch = await open({});
    assert.equal(split.train.items.length, 80);
    assert.equal(bunch.train.length, 5);
    assert.equal(bunch.valid.length, 2);
    assert.equal(bunch.train.itemCount, 80);
    const train = await collect(bunch, 'train');
    assert.equal(train.length, 5);
    const lo = Math.min(...[0, 1, 2].map((c) => (0 - IMAGENET_STATS.mean[c]) / IMAGENET_STATS.std[c]));
    const hi = Math.max(...[0, 1, 2].map((c) => (1 - IMAGENET_STATS.mean[c]) / IMAGENET_STATS.std[c]));
    for (const b of train) {
      assert.equal(b.n, 16);
      assert.equal(b.size, SIZE);
      assert.ok(b.x instanceof Float32Array);
      assert.equal(b.x.length, 16 * PER);
      assert.ok(b.y instanceof Int32Array);
      assert.equal(b.files.length, 16);
      b.files.forEach((f, k) => assert.equal(split.classes[b.y[k]], path.basename(f).replace(/_\d+\.png$/, '')));
      for (const v of b.x) assert.ok(v >= lo - 1e-5 && v <= hi + 1e-5 && Number.isFinite(v));
    }
    assert.equal(new Set(train.flatMap((b) => b.files)).size, 80, 'each training item once per epoch');
    const valid = await collect(bunch, 'valid');
    assert.deepEqual(valid.map((b) => b.n), [16, 4]);
    assert.deepEqual(valid.flatMap((b) => b.files), split.valid.items, 'validation in order, not shuffled');
  });

  test('validation pixels are the inference transform exactly (grayscale → 3 equal channels)', async () => {
    const bunch = await open({});
    const [first] = await collect(bunch, 'valid');
    const expect = await loadImageForInference(first.files[3], SIZE);
    assert.ok(equalArrays(first.x.slice(3 * PER, 4 * PER), expect));
    for (let i = 0; i < PER; i += 3) {
      const v = (first.x[3 * PER + i] * IMAGENET_STATS.std[0] + IMAGENET_STATS.mean[0]);
      assert.ok(Math.abs(v - (first.x[3 * PER + i + 1] * IMAGENET_STATS.std[1] + IMAGENET_STATS.mean[1])) < 1e-5);
    }
  });

  test('same seed → identical epoch for numWorkers 0, 1 and 2', async () => {
    const runs: Batch[][] = [];
    for (const numWorkers of [0, 1, 2]) runs.push(await collect(await open({ numWorkers, seed: 5 }), 'train'));
    for (const other of runs.slice(1)) {
      assert.equal(other.length, runs[0].length);
      other.forEach((b, i) => {
        assert.deepEqual(b.files, runs[0][i].files);
        assert.deepEqual(b.y, runs[0][i].y);
        assert.ok(equalArrays(b.x, runs[0][i].x), `batch ${i} pixels differ`);
      });
    }
  });

  test('augmentation varies with the seed, and not without augmentation', async () => {
    const a = byFile(await collect(await open({ seed: 1 }), 'train'));
    const b = byFile(await collect(await open({ seed: 2 }), 'train'));
    const again = byFile(await collect(await open({ seed: 1 }), 'train'));
    let differ = 0;
    for (const [f, x] of a) {
      if (!equalArrays(x, b.get(f)!)) differ++;
      assert.ok(equalArrays(x, again.get(f)!), 'same seed, same pixels');
    }
    assert.ok(differ >= 70, `augmentation should change most images between seeds (${differ}/80)`);
    const plain1 = byFile(await collect(await open({ seed: 1, tfms: false }), 'train'));
    const plain2 = byFile(await collect(await open({ seed: 2, tfms: false }), 'train'));
    for (const [f, x] of plain1) {
      assert.ok(equalArrays(x, plain2.get(f)!), 'no augmentation: seed changes nothing');
      assert.ok(equalArrays(x, await loadImageForInference(f, SIZE)), 'no augmentation: centre crop as validation');
    }
  });

  test('epochs: each pass reshuffles and re-augments; setEpoch replays a pass', async () => {
    const bunch = await open({ seed: 3 });
    const e0 = await collect(bunch, 'train');
    const e1 = await collect(bunch, 'train');
    assert.notDeepEqual(e0.map((b) => b.files), e1.map((b) => b.files));
    bunch.train.setEpoch(0);
    const replay = await collect(bunch, 'train');
    replay.forEach((b, i) => assert.ok(equalArrays(b.x, e0[i].x)));
    const noShuffle = await open({ seed: 3, shuffleTrain: false });
    assert.deepEqual((await collect(noShuffle, 'train')).flatMap((b) => b.files), split.train.items);
  });

  test('an early break leaves the loader usable', async () => {
    const bunch = await open({ numWorkers: 2, bs: 8 });
    for await (const b of bunch.train) { assert.equal(b.n, 8); break; }
    assert.equal((await collect(bunch, 'train')).length, 10);
  });

  test('showBatch returns the first training batch as labelled PNG thumbnails', async () => {
    const bunch = await open({ seed: 9 });
    const shown = await showBatch(bunch, { n: 6 });
    const [first] = await collect(bunch, 'train');
    assert.equal(shown.length, 6);
    assert.deepEqual(shown.map((s) => s.file), first.files.slice(0, 6));
    for (const s of shown) {
      const meta = await sharp(s.png).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 128, 128]);
      assert.equal(s.label, path.basename(s.file).replace(/_\d+\.png$/, ''));
    }
    // the valid split is sampled with the seed (never shuffled for training): Re-shuffle shows other images
    const valid = await showBatch(split, { split: 'valid', n: 4, thumbSize: 64, size: SIZE, seed: 1 });
    const valid2 = await showBatch(split, { split: 'valid', n: 4, thumbSize: 64, size: SIZE, seed: 2 });
    assert.ok(valid.every((s) => split.valid.items.includes(s.file)));
    assert.notDeepEqual(valid2.map((s) => s.file), valid.map((s) => s.file));
    assert.deepEqual((await showBatch(split, { split: 'valid', n: 4, thumbSize: 64, size: SIZE, seed: 1 })).map((s) => s.file), valid.map((s) => s.file));
    const other = await showBatch(bunch, { n: 6, seed: 10 });
    assert.notDeepEqual(other.map((s) => s.file), shown.map((s) => s.file));
  });

  test('classCounts per split', () => {
    const counts = classCounts(split);
    assert.equal(counts.length, 10);
    assert.equal(counts.reduce((s, c) => s + c.train, 0), 80);
    assert.equal(counts.reduce((s, c) => s + c.valid, 0), 20);
    for (const c of counts) assert.equal(c.train + c.valid, 10);
  });

  test('after close() a worker loader fails fast instead of hanging', async () => {
    const bunch = await open({ numWorkers: 1 });
    await bunch.close();
    await assert.rejects(collect(bunch, 'train'), /closed/);
  });

  test('bad options are DataErrors', async () => {
    await assert.rejects(createDataBunch(split, { bs: 0 }), DataError);
    await assert.rejects(createDataBunch(split, { numWorkers: -1 }), DataError);
  });
});

describe('loading every kind of file, skipping the broken ones', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await writeJpeg(path.join(a, 'jpeg.jpg'), 50, 40);
    await writePngWithAlpha(path.join(a, 'alpha.png'));
    await writeGrayscalePng(path.join(a, 'gray.png'));
    await writeBmp(path.join(a, 'paint.bmp'));
    await writeTruncatedJpeg(path.join(a, 'truncated.jpg'));
    await writeCmykJpeg(path.join(b, 'cmyk.jpg'));
    await write16BitPng(path.join(b, 'deep.png'));
    await writeExifRotatedJpeg(path.join(b, 'exif.jpg'));
    await writeGarbageImage(path.join(b, 'garbage.jpg'));
  });
  after(() => removeDir(dir));

  for (const numWorkers of [0, 2]) {
    test(`numWorkers ${numWorkers}: decode failures are skipped with the file named, counted once`, async () => {
      const split = splitDataset(await fromFolder(dir), { validPct: 0 });
      const warnings: SkippedFile[] = [];
      const bunch = await createDataBunch(split, { size: 16, bs: 16, numWorkers, onSkip: (s) => warnings.push(s) });
      try {
        for (let epoch = 0; epoch < 2; epoch++) {
          const batches = await collect(bunch, 'train');
          assert.equal(batches.length, 1);
          assert.equal(batches[0].n, 7, 'a set smaller than bs still gives one batch, less the 2 broken files');
          assert.equal(batches[0].x.length, 7 * 16 * 16 * 3);
          assert.equal(batches[0].files.length, 7);
          assert.ok(batches[0].x.every(Number.isFinite));
        }
        assert.deepEqual(warnings.map((w) => path.basename(w.file)).sort(), ['garbage.jpg', 'truncated.jpg']);
        assert.ok(warnings.every((w) => /could not be decoded/.test(w.reason)));
        assert.deepEqual(bunch.skippedWhileLoading!.map((w) => path.basename(w.file)).sort(), ['garbage.jpg', 'truncated.jpg']);
      } finally {
        await bunch.close();
      }
    });
  }
});
