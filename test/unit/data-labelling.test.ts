import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import { fromNameRe, fromFolder, fromCsv, fromNameFunc, splitDataset, getImageFiles, DataError, compileLabelPattern } from '../../src/trainer/data';
import { makeTempDir, removeDir, writeJpeg, writePng, writeBmp, writePetsLikeDataset, writeGarbageImage, writeTruncatedJpeg } from '../helpers/images';
import { exportFashionMnist, fashionMnistAvailable, FASHION_MNIST_CLASSES, FASHION_MNIST_PATTERN } from '../helpers/fashion-mnist';
import { requires } from '../helpers/requires';
import { projectFolderReason } from '../../src/protocol/export';

async function rejectsWith(p: Promise<unknown>, message: RegExp, file?: string | RegExp): Promise<DataError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
    assert.match(e.message, message);
    assert.ok(e.fix.length > 10, 'error carries a fix');
    if (typeof file === 'string') assert.equal(e.file, file);
    else if (file) assert.match(e.file ?? '', file);
    return e;
  }
  assert.fail(`expected rejection matching ${message}`);
}

describe('image discovery', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    await writeJpeg(path.join(dir, 'a', 'x_1.jpg'));
    await writeJpeg(path.join(dir, 'a', 'deep', 'y_2.JPEG'));
    await writePng(path.join(dir, 'z_3.png'));
    await writeJpeg(path.join(dir, '.hidden_4.jpg'));
    await writeJpeg(path.join(dir, '.cache', 'w_5.jpg'));
    await fs.writeFile(path.join(dir, 'notes.txt'), 'not an image');
    await writeBmp(path.join(dir, 'old_6.bmp'));
    await fs.writeFile(path.join(dir, 'phone_7.HEIC'), 'not decodable here');
  });
  after(() => removeDir(dir));

  test('finds images recursively, sorted, ignores hidden files and non-images, reports HEIC', async () => {
    const found = await getImageFiles(dir);
    assert.deepEqual(found.files.map((f) => path.relative(dir, f)), [path.join('a', 'deep', 'y_2.JPEG'), path.join('a', 'x_1.jpg'), 'old_6.bmp', 'z_3.png']);
    assert.equal(found.skipped.length, 1);
    assert.equal(found.skipped[0].file, path.join(dir, 'phone_7.HEIC'));
    assert.match(found.skipped[0].reason, /HEIC.*convert/);
  });

  test('missing folder is a DataError naming it', async () => {
    await rejectsWith(getImageFiles(path.join(dir, 'nope')), /not found/, path.join(dir, 'nope'));
  });
});

describe('fromNameRe', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    await writePetsLikeDataset(dir, { classes: ['german_shorthaired', 'Abyssinian', 'pug'], perClass: 4 });
    await writeJpeg(path.join(dir, 'README_notes.jpg'));
  });
  after(() => removeDir(dir));

  test("the lesson's pattern works unchanged, labels and classes exact", async () => {
    const ds = await fromNameRe(dir, '/([^/]+)_\\d+.jpg$');
    assert.deepEqual(ds.classes, ['Abyssinian', 'german_shorthaired', 'pug']);
    assert.equal(ds.c, 3);
    assert.equal(ds.items.length, 12);
    for (let i = 0; i < ds.items.length; i++) assert.equal(ds.labels[i], path.basename(ds.items[i]).replace(/_\d+\.jpg$/, ''));
    assert.deepEqual(ds.rule, { kind: 'nameRe', pattern: '\\/([^/]+)_\\d+.jpg$' });
    assert.equal(ds.skipped.length, 1);
    assert.match(ds.skipped[0].file, /README_notes\.jpg$/);
    assert.match(ds.skipped[0].reason, /does not match/);
  });

  test('RegExp objects and Python named groups are accepted', async () => {
    assert.equal((await fromNameRe(dir, /\/([^/]+)_\d+\.jpg$/)).c, 3);
    assert.equal((await fromNameRe(dir, '/(?P<label>[^/]+)_\\d+\\.jpg$')).c, 3);
    assert.equal(compileLabelPattern('(?P<a>x)(?P=a)').source, '(?<a>x)\\k<a>');
    const insensitive = compileLabelPattern('(?i)/([a-z_]+)_\\d+\\.JPG$');
    assert.equal(insensitive.flags, 'i');
    assert.equal(insensitive.exec('/x/Abyssinian_3.jpg')?.[1], 'Abyssinian');
  });

  test('a pattern matching nothing names an example file and how to fix it', async () => {
    const e = await rejectsWith(fromNameRe(dir, '/([^/]+)-\\d+\\.png$'), /matched none of the 13 images/);
    assert.ok(e.file && e.file.startsWith(dir));
    assert.match(e.fix, /first \(\.\.\.\) group/);
  });

  test('a pattern without a capture group is rejected', async () => {
    await rejectsWith(fromNameRe(dir, '_\\d+\\.jpg$'), /no capture group/);
    await rejectsWith(fromNameRe(dir, '(?:a)_\\d+'), /no capture group/);
  });

  test('an invalid pattern is a DataError', async () => {
    await rejectsWith(fromNameRe(dir, '([a-'), /Invalid label pattern/);
  });

  test('one class, a single-image class, an empty folder', async () => {
    const d = await makeTempDir();
    try {
      await rejectsWith(fromNameRe(d, '/([^/]+)_\\d+.jpg$'), /No labelled image/, d);
      await writeJpeg(path.join(d, 'cat_1.jpg'));
      await writeJpeg(path.join(d, 'cat_2.jpg'));
      await rejectsWith(fromNameRe(d, '/([^/]+)_\\d+.jpg$'), /Only one class/);
      await writeJpeg(path.join(d, 'dog_1.jpg'));
      await rejectsWith(fromNameRe(d, '/([^/]+)_\\d+.jpg$'), /'dog' has a single image/, path.join(d, 'dog_1.jpg'));
    } finally {
      await removeDir(d);
    }
  });

  test('prescan moves unreadable files to skipped, naming them', async () => {
    const d = await makeTempDir();
    try {
      await writePetsLikeDataset(d, { classes: ['a', 'b'], perClass: 3 });
      await writeGarbageImage(path.join(d, 'a_99.jpg'));
      const plain = await fromNameRe(d, '/([^/]+)_\\d+.jpg$');
      assert.equal(plain.items.length, 7);
      const scanned = await fromNameRe(d, '/([^/]+)_\\d+.jpg$', { prescan: true });
      assert.equal(scanned.items.length, 6);
      assert.deepEqual(scanned.skipped.map((s) => path.basename(s.file)), ['a_99.jpg']);
      assert.match(scanned.skipped[0].reason, /not a readable image/);
    } finally {
      await removeDir(d);
    }
  });

  test('prescan does not reject a truncated JPEG with a valid header (decode catches it)', async () => {
    const d = await makeTempDir();
    try {
      await writePetsLikeDataset(d, { classes: ['a', 'b'], perClass: 2 });
      await writeTruncatedJpeg(path.join(d, 'a_9.jpg'));
      const ds = await fromNameRe(d, '/([^/]+)_\\d+.jpg$', { prescan: true });
      assert.equal(ds.items.length, 5);
    } finally {
      await removeDir(d);
    }
  });
});

describe('fromFolder', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    for (const [split, n] of [['train', 4], ['valid', 2]] as const) {
      for (const cls of ['cat', 'dog']) for (let i = 0; i < n; i++) await writeJpeg(path.join(dir, 'tv', split, cls, `${i}.jpg`));
    }
    await writeJpeg(path.join(dir, 'tv', 'train', 'loose.jpg'));
    await writeJpeg(path.join(dir, 'tv', 'test', 'unlabelled.jpg'));
    for (const cls of ['bird', 'fish']) for (let i = 0; i < 3; i++) await writeJpeg(path.join(dir, 'flat', cls, i === 2 ? 'sub' : '', `${i}.jpg`));
    for (const cls of ['a', 'b']) for (let i = 0; i < 2; i++) await writeJpeg(path.join(dir, 'trainonly', 'train', cls, `${i}.jpg`));
  });
  after(() => removeDir(dir));

  test('train/ + valid/ fixes the split', async () => {
    const ds = await fromFolder(path.join(dir, 'tv'));
    assert.deepEqual(ds.classes, ['cat', 'dog']);
    assert.equal(ds.items.length, 12);
    assert.deepEqual(ds.rule, { kind: 'folder', train: 'train', valid: 'valid' });
    assert.equal(ds.fixedValid!.filter(Boolean).length, 4);
    for (let i = 0; i < ds.items.length; i++) {
      assert.equal(ds.fixedValid![i], ds.items[i].includes(`${path.sep}valid${path.sep}`));
      assert.equal(ds.labels[i], path.basename(path.dirname(ds.items[i])));
    }
    assert.match(ds.skipped.map((s) => s.file).join(), /loose\.jpg/);
    const split = splitDataset(ds, { validPct: 0.5 });
    assert.equal(split.valid.items.length, 4);
    assert.ok(split.valid.items.every((f) => f.includes(`${path.sep}valid${path.sep}`)));
  });

  test('one folder per class: label = class folder, nested folders included, random split', async () => {
    const ds = await fromFolder(path.join(dir, 'flat'));
    assert.deepEqual(ds.classes, ['bird', 'fish']);
    assert.equal(ds.items.length, 6);
    assert.equal(ds.fixedValid, undefined);
    assert.deepEqual(ds.rule, { kind: 'folder', train: '.', valid: null });
    assert.equal(ds.labels[ds.items.findIndex((f) => f.endsWith(path.join('fish', 'sub', '2.jpg')))], 'fish');
  });

  test('train/ without valid/ splits at random', async () => {
    const ds = await fromFolder(path.join(dir, 'trainonly'));
    assert.equal(ds.fixedValid, undefined);
    assert.deepEqual(ds.rule, { kind: 'folder', train: 'train', valid: null });
  });

  test("one folder per class never counts the project's own folders (models/, export/, export-*/, .image-trainer/, exports anywhere) as classes, and says which it skipped", async () => {
    const own = path.join(dir, 'own');
    for (const cls of ['cat', 'dog']) for (let i = 0; i < 2; i++) await writeJpeg(path.join(own, cls, `${i}.jpg`));
    // a nested folder named like ours inside a class stays in that class
    await writeJpeg(path.join(own, 'cat', 'models', 'kept.jpg'));
    await writeJpeg(path.join(own, 'models', 'stray.jpg'));
    await fs.writeFile(path.join(own, 'models', 'stage-1.safetensors'), 'x');
    await writeJpeg(path.join(own, 'export', 'preview.jpg'));
    await writeJpeg(path.join(own, 'export-onnx', 'preview.jpg'));
    await writeJpeg(path.join(own, '.image-trainer', 'export-tfjs', 'preview.jpg'));
    await writeJpeg(path.join(own, 'shipped', 'preview.jpg'));
    await fs.writeFile(path.join(own, 'shipped', 'image-trainer-export.json'), '{}');
    await writeJpeg(path.join(own, 'dog', 'old-export', 'x.jpg'));
    await fs.writeFile(path.join(own, 'dog', 'old-export', 'image-trainer-export.json'), '{}');

    const ds = await fromFolder(own);
    assert.deepEqual(ds.classes, ['cat', 'dog']);
    assert.equal(ds.items.length, 5, ds.items.join(', '));
    assert.ok(ds.items.some((f) => f.endsWith(path.join('cat', 'models', 'kept.jpg'))));
    const skipped = (ds.skippedFolders ?? []).map((f) => [path.relative(own, f.file), f.reason]);
    assert.deepEqual(skipped.map(([f]) => f), ['.image-trainer', path.join('dog', 'old-export'), 'export', 'export-onnx', 'models', 'shipped']);
    assert.match(Object.fromEntries(skipped).models!, /checkpoints/);
    assert.match(Object.fromEntries(skipped).shipped!, /image-trainer-export\.json/);
    // the same rule for every labeller that scans the folder
    const found = await getImageFiles(own);
    assert.deepEqual(found.files, ds.items);
    assert.deepEqual(found.skippedFolders, ds.skippedFolders);
    const byName = await fromNameRe(own, /\/(cat|dog)\//);
    assert.deepEqual(byName.items, ds.items);
    assert.deepEqual(byName.skippedFolders, ds.skippedFolders);
    assert.deepEqual(projectFolderReason('pets'), undefined);
    for (const n of ['models', 'export', 'export-tfjs', '.image-trainer', '.git']) assert.ok(projectFolderReason(n), n);
  });

  test('missing folders are DataErrors naming the folder', async () => {
    await rejectsWith(fromFolder(path.join(dir, 'absent')), /Folder not found/, path.join(dir, 'absent'));
    await rejectsWith(fromFolder(path.join(dir, 'tv'), { valid: 'validation' }), /Validation folder 'validation' not found/, path.join(dir, 'tv', 'validation'));
    await rejectsWith(fromFolder(path.join(dir, 'flat'), { train: 'training' }), /Training folder 'training' not found/);
  });
});

describe('fromCsv and fromNameFunc', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    const rows = ['name,label,extra'];
    for (let i = 0; i < 6; i++) {
      await writeJpeg(path.join(dir, 'imgs', `img${i}.jpg`));
      rows.push(`img${i},${i % 2 ? 'odd' : 'even'},x`);
    }
    rows.push('img_missing,odd,x');
    await fs.writeFile(path.join(dir, 'labels.csv'), rows.join('\n') + '\n');
  });
  after(() => removeDir(dir));

  test('fromCsv by column name with folder and suffix; missing files skipped', async () => {
    const ds = await fromCsv(dir, 'labels.csv', { fnCol: 'name', labelCol: 'label', folder: 'imgs', suffix: '.jpg' });
    assert.deepEqual(ds.classes, ['even', 'odd']);
    assert.equal(ds.items.length, 6);
    assert.equal(ds.labels[ds.items.indexOf(path.join(dir, 'imgs', 'img3.jpg'))], 'odd');
    assert.deepEqual(ds.rule, { kind: 'csv', csvFile: path.join(dir, 'labels.csv'), fnCol: 'name', labelCol: 'label' });
    assert.equal(ds.skipped.length, 1);
    assert.match(ds.skipped[0].reason, /not found/);
  });

  test('fromCsv by column index (fastai defaults 0 and 1)', async () => {
    const ds = await fromCsv(dir, 'labels.csv', { folder: 'imgs', suffix: '.jpg' });
    assert.equal(ds.items.length, 6);
  });

  test('fromCsv: missing CSV and unknown column are DataErrors', async () => {
    await rejectsWith(fromCsv(dir, 'nope.csv'), /CSV file not found/, path.join(dir, 'nope.csv'));
    const e = await rejectsWith(fromCsv(dir, 'labels.csv', { labelCol: 'class' }), /Unknown CSV column "class"/);
    assert.match(e.fix, /"name", "label", "extra"/);
    await rejectsWith(fromCsv(dir, 'labels.csv', { fnCol: 7 }), /Unknown CSV column 7/);
  });

  test('fromNameFunc on a folder and on a list', async () => {
    const fn = (f: string) => (Number(path.basename(f).match(/\d+/)![0]) < 3 ? 'low' : 'high');
    const ds = await fromNameFunc(path.join(dir, 'imgs'), fn);
    assert.deepEqual(ds.classes, ['high', 'low']);
    assert.equal(ds.root, path.join(dir, 'imgs'));
    const list = await fromNameFunc(ds.items.slice(1, 5), fn);
    assert.deepEqual(list.labels, ['low', 'low', 'high', 'high']);
    assert.equal(list.root, path.join(dir, 'imgs'));
  });

  test('fromNameFunc: a throwing label function skips the file with the reason', async () => {
    await rejectsWith(fromNameFunc(path.join(dir, 'imgs'), () => { throw new Error('boom'); }), /No labelled image/);
  });
});

describe('splitDataset', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
    await writePetsLikeDataset(dir, { classes: ['a', 'b', 'c', 'd'], perClass: 10, width: 8, height: 8 });
  });
  after(() => removeDir(dir));

  test('validPct of items (floor), reproducible with the seed, different for another seed', async () => {
    const ds = await fromNameRe(dir, '/([^/]+)_\\d+.jpg$');
    const s1 = splitDataset(ds, { seed: 42 });
    const s2 = splitDataset(ds, { seed: 42 });
    const s3 = splitDataset(ds, { seed: 7 });
    assert.equal(s1.valid.items.length, 8);
    assert.equal(s1.train.items.length, 32);
    assert.deepEqual(s1, s2);
    assert.notDeepEqual(s1.valid.items, s3.valid.items);
    assert.deepEqual(splitDataset(ds), s1, 'default seed is 42');
    assert.equal(splitDataset(ds, { validPct: 0.25 }).valid.items.length, 10);
    for (const list of [s1.train, s1.valid]) list.items.forEach((f, i) => assert.equal(s1.classes[list.y[i]], ds.labels[ds.items.indexOf(f)]));
    assert.deepEqual([...s1.train.items, ...s1.valid.items].sort(), [...ds.items].sort());
  });

  test('the split is pinned: same files on every machine for seed 42', async () => {
    const ds = await fromNameRe(dir, '/([^/]+)_\\d+.jpg$');
    const names = splitDataset(ds).valid.items.map((f) => path.basename(f));
    assert.deepEqual(names, PINNED_VALID);
  });

  test('a bad validPct is a DataError', async () => {
    const ds = await fromNameRe(dir, '/([^/]+)_\\d+.jpg$');
    assert.throws(() => splitDataset(ds, { validPct: 1 }), DataError);
  });
});

// Regenerate only on purpose: changing this changes every user's validation set.
const PINNED_VALID = ['a_10.jpg', 'a_4.jpg', 'a_5.jpg', 'a_7.jpg', 'b_10.jpg', 'c_5.jpg', 'c_9.jpg', 'd_6.jpg'];

describe('Fashion-MNIST (real data)', { skip: requires(fashionMnistAvailable(), 'Fashion-MNIST', 'apt-get install dataset-fashion-mnist') }, () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(() => removeDir(dir));

  test('exported pets-style names label exactly with the lesson pattern', async () => {
    const ex = await exportFashionMnist(path.join(dir, 'names'), { perClass: 5 });
    assert.equal(ex.files.length, 50);
    const ds = await fromNameRe(ex.dir, FASHION_MNIST_PATTERN);
    assert.deepEqual(ds.classes, [...FASHION_MNIST_CLASSES].sort());
    assert.equal(ds.c, 10);
    for (let i = 0; i < ex.files.length; i++) assert.equal(ds.labels[ds.items.indexOf(ex.files[i])], ex.labels[i]);
    const lessonPattern = await fromNameRe(ex.dir, '/([^/]+)_\\d+.png$');
    assert.deepEqual(lessonPattern.labels, ds.labels);
  });

  test('folder layout labels the same', async () => {
    const ex = await exportFashionMnist(path.join(dir, 'folders'), { perClass: 3, layout: 'folders', classes: ['bag', 'sandal', 't_shirt'] });
    const ds = await fromFolder(ex.dir);
    assert.deepEqual(ds.classes, ['bag', 'sandal', 't_shirt']);
    for (let i = 0; i < ex.files.length; i++) assert.equal(ds.labels[ds.items.indexOf(ex.files[i])], ex.labels[i]);
  });
});
