// Hostile corpus of files: images, checkpoints and weights paths that are FIFOs, /dev/zero, huge,
// or whose headers lie. Each case asserts its outcome: a fast, clear error naming the file (never a
// hang, never gigabytes), and for checkpoints a learner left exactly as it was.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { tf } from '../../src/trainer/backend';
import { Learner } from '../../src/trainer/learner';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../src/trainer/io/safetensors';
import { decodeCenterCrop, decodeShortSide, readImageSize } from '../../src/trainer/data/decode';
import { loadModelInput } from '../../src/trainer/interpret/image-input';
import { loadPretrained } from '../../src/trainer/models/pretrained';
import { readFileBounded } from '../../src/trainer/io/bounded-read';
import { exportModel, loadExported } from '../../src/trainer/learner/export';
import { fromCsv } from '../../src/trainer/data/from-csv';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData } from '../helpers/fake-data';
import { bmpBuffer, writePng } from '../helpers/images';
import { seededRandom } from '../helpers/seeded-random';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-files-'));
before(async () => {
  await tf.setBackend('cpu');
});
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

function fifo(name: string): string {
  const p = path.join(TMP, name);
  execFileSync('mkfifo', [p]);
  return p;
}
function link(name: string, target: string): string {
  const p = path.join(TMP, name);
  fs.symlinkSync(target, p);
  return p;
}
function sparse(name: string, bytes: number): string {
  const p = path.join(TMP, name);
  const fd = fs.openSync(p, 'w');
  fs.ftruncateSync(fd, bytes);
  fs.closeSync(fd);
  return p;
}

/** A PNG of only a signature and an IHDR claiming width×height (valid CRC), then IEND. */
function lyingPng(name: string, width: number, height: number): string {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = zlib.deflateSync(Buffer.alloc(1000));
  const p = path.join(TMP, name);
  fs.writeFileSync(p, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]));
  return p;
}

/** A ~1 KB BMP whose header claims width×height (compression 0 = uncompressed, 1 = RLE8). */
function lyingBmp(name: string, width: number, height: number, compression = 0): string {
  const p = path.join(TMP, name);
  fs.writeFileSync(p, bmpBuffer(1024, width, height, { compression }));
  return p;
}

// [case, make the file, what the error must say]
const images: [string, () => string, RegExp][] = [
  ['a FIFO named like an image', () => fifo('pipe.jpg'), /named pipe/],
  ['a symlink to /dev/zero', () => link('zero.png', '/dev/zero'), /character device/],
  ['a folder named like an image', () => { const d = path.join(TMP, 'dir.jpg'); fs.mkdirSync(d); return d; }, /folder/],
  ['a 300 MB (sparse) file', () => sparse('huge.jpg', 300 * 1024 * 1024), /MiB, more than the .* limit/],
  ['a PNG header claiming 100000×100000', () => lyingPng('lie.png', 100000, 100000), /megapixel limit/],
  ['a 1 KB BMP claiming 100000×100000', () => lyingBmp('lie.bmp', 100000, 100000), /megapixel limit/],
  ['a 1 KB uncompressed BMP claiming 9000×9000', () => lyingBmp('lie9k.bmp', 9000, 9000), /only 1024 bytes/],
  ['a 1 KB RLE BMP claiming 9000×9000', () => lyingBmp('rle.bmp', 9000, 9000, 1), /compressed file has only 1024 bytes/],
  ['a missing file', () => path.join(TMP, 'missing.jpg'), /does not exist/],
];

for (const [name, make, expected] of images) {
  test(`image: ${name} fails fast with a clear error in every decode path`, async () => {
    const file = make();
    const t0 = Date.now();
    const rss0 = process.memoryUsage().rss;
    await assert.rejects(decodeCenterCrop(file, 32), expected);
    await assert.rejects(decodeShortSide(file, 32), expected);
    await assert.rejects(readImageSize(file), expected);
    await assert.rejects(loadModelInput(file, 32), (e: Error & { file?: string }) => expected.test(e.message) && e.file === file);
    // a lying header must not cost memory (generous: far below the gigabytes a 10^10-pixel buffer needs)
    assert.ok(process.memoryUsage().rss - rss0 < 512 * 1024 * 1024, 'decode allocated hundreds of MB');
    assert.ok(Date.now() - t0 < 60_000);
  });
}

test('image: a real small PNG still decodes', async () => {
  const f = await writePng(path.join(TMP, 'ok.png'), 40, 30);
  const img = await decodeCenterCrop(f, 16);
  assert.equal(img.data.length, 16 * 16 * 3);
});

test('bounded read: a FIFO with no writer does not block, /dev/zero does not stream forever', async () => {
  await assert.rejects(readFileBounded(fifo('p2'), { maxBytes: 1024, what: 'manifest' }), /manifest .* named pipe/);
  await assert.rejects(readFileBounded('/dev/zero', { maxBytes: 1024, what: 'manifest' }), /character device/);
});

// --- checkpoints --------------------------------------------------------------------------------

function makeLearner(dir: string, seed = 1): Learner {
  const data = makeFakeData({});
  return new Learner({ data, model: createTinyModel({ numClasses: data.c, ps: [0, 0], seed }), path: dir });
}

function weightsOf(l: Learner): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const [k, t] of l.model.stateDict()) m.set(k, Array.from(t.dataSync()));
  return m;
}

async function tamper(src: string, dst: string, edit: (meta: Record<string, string>, tensors: Map<string, HostTensor>) => void): Promise<void> {
  const { metadata, tensors } = await readSafetensors(src);
  edit(metadata, tensors);
  await writeSafetensors(dst, tensors, metadata);
}

const editInfo = (f: (info: Record<string, unknown>) => void) => (meta: Record<string, string>) => {
  const info = JSON.parse(meta.info) as Record<string, unknown>;
  f(info);
  meta.info = JSON.stringify(info);
};

const checkpoints: [string, (meta: Record<string, string>, t: Map<string, HostTensor>) => void, RegExp][] = [
  ['stored size 0', editInfo((i) => { i.size = 0; }), /invalid metadata \(size/],
  ['stored size 10^9', editInfo((i) => { i.size = 1e9; }), /invalid metadata \(size/],
  ['stored batch size -1', editInfo((i) => { i.bs = -1; }), /invalid metadata \(bs/],
  ['class list with a repeat', editInfo((i) => { i.classes = ['class0', 'class0', 'class1']; }), /class names repeat/],
  ['class list longer than the model outputs', editInfo((i) => { i.classes = ['a', 'b', 'c', 'd']; }), /4 classes but the model has 3 outputs/],
  ['an empty class name', editInfo((i) => { i.classes = ['', 'b', 'c']; }), /invalid metadata \(classes/],
  ['std 0 preprocessing', editInfo((i) => { i.normalize = { mean: [0, 0, 0], std: [0, 1, 1] }; }), /invalid metadata \(normalize/],
  ['unknown architecture', editInfo((i) => { i.model = { arch: '../../etc', numClasses: 3, ps: [0, 0] }; }), /invalid metadata \(model\.arch/],
  ['info that is not JSON', (m) => { m.info = '{oops'; }, /unreadable metadata/],
  ['NaN in a weight', (_m, t) => { const w = [...t.entries()].find(([k]) => k.startsWith('model/'))!; w[1].data[0] = NaN; }, /non-finite values .* diverged run/],
  ['optimiser moment of the wrong shape', (_m, t) => {
    const k = [...t.keys()].find((n) => n.startsWith('opt/exp_avg/'))!;
    t.set(k, { shape: [1], data: new Float32Array([1]) });
  }, /optimiser moments for .* does not match/],
  ['optimiser metadata that is not JSON', (m) => { m.optimizer = 'nope'; }, /invalid optimiser state metadata/],
  ['a checkpoint of another architecture', editInfo((i) => { i.model = { ...(i.model as object), arch: 'resnet50' }; }), /holds a resnet50 but this learner's model is a resnet18/],
  ['a checkpoint trained on other classes', editInfo((i) => { i.classes = ['x', 'y', 'z']; }), /was trained on classes \[x, y, z\] but this dataset has \[class0, class1, class2\]/],
];

test('checkpoints: every tampered file is refused with the file named, and the learner is left exactly as it was', async () => {
  const dir = path.join(TMP, 'ckpt');
  const l = makeLearner(dir);
  await l.fit(1, 1e-2); // so there is optimiser state
  const good = await l.save('good');
  const victim = makeLearner(dir, 7);
  await victim.fit(1, 1e-2);
  const w0 = weightsOf(victim);
  const s0 = victim.opt.getState();
  const steps0 = JSON.stringify(s0.steps);
  for (const t of [...s0.expAvg.values(), ...s0.expAvgSq.values()]) t.dispose();
  for (const [name, edit, expected] of checkpoints) {
    const file = path.join(dir, 'models', 'bad.safetensors');
    await tamper(good, file, edit);
    await assert.rejects(victim.load('bad'), (e: Error & { file?: string; fix?: string }) => {
      assert.match(e.message, expected, name);
      assert.equal(e.file, file, name);
      assert.ok(e.fix, name);
      return true;
    });
    assert.deepEqual(weightsOf(victim), w0, `${name}: weights changed by a failed load`);
    assert.equal(JSON.stringify(victim.opt.getState().steps), steps0, `${name}: optimiser state changed by a failed load`);
  }
  // a checkpoint name that is a FIFO, or a link to /dev/zero: refused at once
  execFileSync('mkfifo', [path.join(dir, 'models', 'fifo.safetensors')]);
  await assert.rejects(victim.load('fifo'), /named pipe/);
  fs.symlinkSync('/dev/zero', path.join(dir, 'models', 'zero.safetensors'));
  await assert.rejects(victim.load('zero'), (e: Error & { fix?: string }) => /character device/.test(e.message) && !/permission/i.test(e.fix ?? ''));
  assert.deepEqual(weightsOf(victim), w0);
  await victim.load('good');
  l.dispose();
  victim.dispose();
});

test('--pretrained naming /dev/zero, a FIFO or a huge file fails fast with the file named', async () => {
  const model = createTinyModel({ numClasses: 3, ps: [0, 0] });
  await assert.rejects(loadPretrained(model, 'resnet18', '/dev/zero'), /character device/);
  await assert.rejects(loadPretrained(model, 'resnet18', fifo('weights.safetensors')), /named pipe/);
  await assert.rejects(loadPretrained(model, 'resnet18', sparse('big.safetensors', 3 * 1024 * 1024 * 1024)), /GiB, more than the .* limit/);
  model.dispose();
});

test('--pretrained wording: weights of another resnet name the --arch to use; a truncated file says so, with a fix, not a bare Error', async () => {
  const model = createTinyModel({ numClasses: 3, ps: [0, 0] });
  const r34 = path.join(TMP, 'r34-names.safetensors');
  const t = (n: number) => ({ shape: [n], data: new Float32Array(n) });
  await writeSafetensors(r34, new Map([['conv1.weight', t(1)], ['layer3.5.conv1.weight', t(1)], ['layer3.1.conv1.weight', t(1)]]), {});
  await assert.rejects(loadPretrained(model, 'resnet18', r34), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, /weights do not match resnet18: .*looks like resnet34 weights/);
    assert.equal(e.file, r34);
    assert.match(e.fix ?? '', /--arch resnet34/);
    return true;
  });
  const cut = path.join(TMP, 'cut.safetensors');
  fs.writeFileSync(cut, fs.readFileSync(r34).subarray(0, 40));
  await assert.rejects(loadPretrained(model, 'resnet18', cut), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, /cut\.safetensors is not a readable \.safetensors file: header length \d+ does not fit in 40 bytes \(truncated/);
    assert.equal(e.file, cut);
    assert.match(e.fix ?? '', /complete \.safetensors file/);
    assert.ok(!/chmod|permission/i.test(e.fix ?? ''));
    return true;
  });
  model.dispose();
});

test('kill at random points during checkpoint save: the previous model stays loadable every time', async () => {
  const dir = path.join(TMP, 'kill');
  const l = makeLearner(dir);
  const file = await l.save('ckpt');
  const good = fs.readFileSync(file);
  const tensorCount = (await readSafetensors(file)).tensors.size;
  const rand = seededRandom(2026);
  const mod = (p: string) => JSON.stringify(path.join(__dirname, p));
  for (let round = 0; round < 4; round++) {
    const killAt = 1 + Math.floor(rand() * (tensorCount - 1));
    const script = `
      const { tf } = require(${mod('../../src/trainer/backend')});
      const { saveCheckpoint } = require(${mod('../../src/trainer/learner/checkpoint')});
      const { createTinyModel } = require(${mod('../helpers/tiny-model')});
      const { makeFakeData } = require(${mod('../helpers/fake-data')});
      const { AdamW } = require(${mod('../../src/trainer/learner/optimizer')});
      (async () => {
        await tf.setBackend('cpu');
        const data = makeFakeData({});
        const model = createTinyModel({ numClasses: 3, seed: ${round + 10} });
        const opt = new AdamW(model.params, { nGroups: 3 });
        let n = 0;
        await saveCheckpoint(${JSON.stringify(file)}, { model, data, opt, frozenTo: 0 }, {
          afterTensor: async () => { if (++n === ${killAt}) { process.stdout.write('KILLME\\n'); await new Promise((r) => setTimeout(r, 60000)); } },
        });
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('KILLME') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(fs.readFileSync(file), good, `round ${round}: killed after tensor ${killAt} changed the checkpoint`);
    const b = makeLearner(dir, 3);
    await b.load('ckpt');
    b.dispose();
  }
  // The killed writers' temp files (hidden .ckpt.safetensors.<pid>.<rand>.tmp) go with the next save.
  const temps = () => fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('.tmp'));
  assert.ok(temps().length > 0, 'the kills left temp files (the case this cleans up)');
  const live = path.join(path.dirname(file), `.ckpt.safetensors.${process.pid}.0badc0de.tmp`);
  fs.writeFileSync(live, 'a save in progress in a live process');
  await l.save('ckpt');
  assert.deepEqual(temps(), [path.basename(live)], 'orphans removed, a live writer\'s temp file kept');
  fs.rmSync(live);
  l.dispose();
});

// --- export (model) folders ---------------------------------------------------------------------

const exportClasses = ['a', 'b', 'c'];
const exportPre = { size: 16, normalize: { mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] }, method: 'crop' as const };
const tinyFactory = (o: { numClasses: number; ps: [number, number] }) => createTinyModel({ numClasses: o.numClasses, ps: o.ps, seed: 7, width: 16, hidden: 64 });

async function goodExport(): Promise<string> {
  const dir = path.join(TMP, `export-${Math.random().toString(36).slice(2)}`);
  const model = createTinyModel({ numClasses: 3, ps: [0, 0], seed: 1, width: 16, hidden: 64 });
  try {
    return await exportModel(dir, { model, data: { classes: exportClasses }, preprocessing: exportPre });
  } finally {
    model.dispose();
  }
}

function replaceWith(file: string, make: (p: string) => void): void {
  fs.rmSync(file);
  make(file);
}
const editModelJson = (dir: string, f: (j: Record<string, any>) => void): void => {
  const file = path.join(dir, 'model.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;
  f(j);
  fs.writeFileSync(file, JSON.stringify(j));
};
const outside = path.join(TMP, 'outside-secret.bin');
fs.writeFileSync(outside, Buffer.alloc(4096, 7));

// [case, tamper with a good export folder, what the error must say]
const exportCases: [string, (dir: string) => void, RegExp][] = [
  ['weights.bin is a symlink to /dev/zero', (d) => replaceWith(path.join(d, 'weights.bin'), (p) => fs.symlinkSync('/dev/zero', p)), /outside the export folder .* through a symbolic link/],
  ['weights.bin is a symlink to a file outside the folder', (d) => replaceWith(path.join(d, 'weights.bin'), (p) => fs.symlinkSync(outside, p)), /outside the export folder/],
  ['weights.bin is a FIFO', (d) => replaceWith(path.join(d, 'weights.bin'), (p) => execFileSync('mkfifo', [p])), /weights file .* named pipe/],
  ['weights.bin is a 3 GiB (sparse) file', (d) => replaceWith(path.join(d, 'weights.bin'), (p) => { const fd = fs.openSync(p, 'w'); fs.ftruncateSync(fd, 3 * 1024 ** 3); fs.closeSync(fd); }), /GiB, more than the .* limit/],
  ['weights.bin is truncated', (d) => { const f = path.join(d, 'weights.bin'); fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)); }, /does not describe its weights file|bytes but its manifest describes/],
  ['model.json is a symlink to /dev/zero', (d) => replaceWith(path.join(d, 'model.json'), (p) => fs.symlinkSync('/dev/zero', p)), /model\.json .* character device/],
  ['model.json is a FIFO', (d) => replaceWith(path.join(d, 'model.json'), (p) => execFileSync('mkfifo', [p])), /model\.json .* named pipe/],
  ['model.json is a 100 MB (sparse) file', (d) => replaceWith(path.join(d, 'model.json'), (p) => { const fd = fs.openSync(p, 'w'); fs.ftruncateSync(fd, 100 * 1024 ** 2); fs.closeSync(fd); }), /MiB, more than the .* limit/],
  ['model.json is not JSON', (d) => fs.writeFileSync(path.join(d, 'model.json'), '{oops'), /model\.json is not valid JSON/],
  ['the manifest names ../weights.bin', (d) => editModelJson(d, (j) => { j.weightsManifest[0].paths = ['../weights.bin']; }), /names a weights file outside its folder/],
  ['weightsManifest is not a list', (d) => editModelJson(d, (j) => { j.weightsManifest = { paths: 'weights.bin' }; }), /invalid metadata \(weightsManifest/],
  ['an unknown architecture', (d) => editModelJson(d, (j) => { j.userDefinedMetadata.model.arch = 'resnet9000'; }), /invalid metadata \(model\.arch "resnet9000"/],
  ['class count differs from the model outputs', (d) => editModelJson(d, (j) => { j.userDefinedMetadata.classes = ['a', 'b', 'c', 'd']; }), /4 classes but the model has 3 outputs/],
  ['preprocessing std 0', (d) => editModelJson(d, (j) => { j.userDefinedMetadata.preprocessing.normalize.std = [0, 1, 1]; }), /invalid metadata \(preprocessing\.normalize/],
  ['a dropout probability of 2 (createModel would refuse it without the file)', (d) => editModelJson(d, (j) => { j.userDefinedMetadata.model.ps = [0.5, 2]; }), /invalid metadata \(model\.ps is not two dropout probabilities/],
  ['a weight shape of 10^12 values', (d) => editModelJson(d, (j) => { j.weightsManifest[0].weights[0].shape = [1e6, 1e6]; }), /invalid metadata \(weight entry/],
];

for (const [name, tamper, expected] of exportCases) {
  test(`export folder: ${name} fails fast with the file named and a fix, not a hang or a TypeError`, async () => {
    const dir = await goodExport();
    tamper(dir);
    const t0 = Date.now();
    await assert.rejects(loadExported(dir, { createModel: tinyFactory }), (e: Error & { file?: string; fix?: string }) => {
      assert.match(e.message, expected);
      assert.ok(e.file && e.file.startsWith(dir), `names a file in the export: ${e.file}`);
      assert.ok(e.fix, 'has a fix');
      assert.ok(!/chmod|check the file permissions/i.test(e.fix), `no permission advice for a file that is not a permission problem: ${e.fix}`);
      assert.notEqual(e.name, 'TypeError');
      return true;
    });
    assert.ok(Date.now() - t0 < 30_000);
  });
}

test('export folder: the untouched export still loads and predicts', async () => {
  const dir = await goodExport();
  const p = await loadExported(dir, { createModel: tinyFactory });
  const img = await writePng(path.join(TMP, 'predict.png'), 20, 20);
  const r = await p.predict(img);
  assert.equal(r.probs.length, 3);
  p.dispose();
});

test('predict --model: an export whose model.json is /dev/zero or whose weights are a FIFO fails at once with one line', { timeout: 120_000 }, async () => {
  const img = await writePng(path.join(TMP, 'cli-predict.png'), 20, 20);
  const main = path.join(__dirname, '../../src/trainer/cli/main.js');
  for (const [file, make, expected] of [
    ['model.json', (p: string) => fs.symlinkSync('/dev/zero', p), /character device/],
    ['weights.bin', (p: string) => execFileSync('mkfifo', [p]), /named pipe/],
  ] as const) {
    const dir = await goodExport();
    replaceWith(path.join(dir, file), make);
    const r = spawnSync(process.execPath, [main, 'predict', '--model', dir, img], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('image-trainer: error:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, expected);
    assert.match(lines[0] as string, /Fix: /);
  }
});

// --- the labels CSV -----------------------------------------------------------------------------

test('labels CSV: a FIFO, /dev/zero, a huge file and an unreadable one each get their own reason, never "not found"', async () => {
  const root = path.join(TMP, 'csv-ds');
  fs.mkdirSync(root);
  await writePng(path.join(root, 'x.png'), 8, 8);
  execFileSync('mkfifo', [path.join(root, 'fifo.csv')]);
  fs.symlinkSync('/dev/zero', path.join(root, 'zero.csv'));
  const fd = fs.openSync(path.join(root, 'huge.csv'), 'w');
  fs.ftruncateSync(fd, 100 * 1024 ** 2);
  fs.closeSync(fd);
  await assert.rejects(fromCsv(root, 'fifo.csv'), /labels CSV .* named pipe/);
  await assert.rejects(fromCsv(root, 'zero.csv'), /labels CSV .* character device/);
  await assert.rejects(fromCsv(root, 'huge.csv'), (e: Error & { fix?: string }) => /MiB, more than the/.test(e.message) && !/chmod/i.test(e.fix ?? '') && /not its permissions/.test(e.fix ?? ''));
  await assert.rejects(fromCsv(root, 'missing.csv'), /CSV file not found/);
  fs.mkdirSync(path.join(root, 'dir.csv'));
  await assert.rejects(fromCsv(root, 'dir.csv'), /labels CSV .* folder/);
});
