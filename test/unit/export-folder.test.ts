// Export-folder safety (issue 10): an export replaces only a previous export it recognises by its
// manifest, refuses anything else with the folder and the fix, swaps crash-safely, and cleans up
// what an interrupted export left; a SIGKILL at random points never loses the previous model.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../src/trainer/backend';
import { exportModel, loadExported } from '../../src/trainer/learner/export';
import { checkExportTarget, readExportManifest, recoverExportFolder } from '../../src/trainer/export/folder';
import { EXPORT_MANIFEST } from '../../src/protocol/export';
import { createTinyModel } from '../helpers/tiny-model';
import { seededRandom } from '../helpers/seeded-random';

const CHILD = path.join(__dirname, '../helpers/export-child.js');
const classes = ['a', 'b', 'c'];
const pre = { size: 16, normalize: { mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.25, 0.25, 0.25] as [number, number, number] }, method: 'crop' as const };
const tinyFactory = (o: { numClasses: number; ps: [number, number] }) => createTinyModel({ numClasses: o.numClasses, ps: o.ps, seed: 7, width: 16, hidden: 64 });

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'export-folder-'));
});
after(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function exportTiny(dir: string, seed = 1): Promise<string> {
  const model = createTinyModel({ numClasses: 3, ps: [0, 0], seed, width: 16, hidden: 64 });
  try {
    return await exportModel(dir, { model, data: { classes }, preprocessing: pre });
  } finally {
    model.dispose();
  }
}

async function tree(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).map(String).sort();
}

test('a new folder gets the export and its manifest; exporting again replaces it without leftovers', async () => {
  const parent = path.join(root, 'fresh');
  const dir = path.join(parent, 'run', 'export');
  assert.equal((await checkExportTarget(dir)).existing, 'none');
  await exportTiny(dir);
  const m = await readExportManifest(dir);
  assert.equal(m?.modelFormat, 'native');
  assert.deepEqual(m?.files.map((f) => f.name).sort(), ['model.json', 'weights.bin']);
  assert.equal((await checkExportTarget(dir)).existing, 'export');
  await exportTiny(dir, 2);
  assert.deepEqual(await fs.readdir(path.dirname(dir)), ['export']);
  assert.deepEqual(await tree(dir), [EXPORT_MANIFEST, 'model.json', 'weights.bin'].sort());
});

test('an empty folder is filled; a folder of the user\'s images is refused and left as it was', async () => {
  const empty = path.join(root, 'empty');
  await fs.mkdir(empty);
  assert.equal((await checkExportTarget(empty)).existing, 'empty');
  await exportTiny(empty);
  assert.ok(await readExportManifest(empty));

  // a folder dataset with a class called "export": the old default target
  const cls = path.join(root, 'dataset', 'export');
  await fs.mkdir(cls, { recursive: true });
  await fs.writeFile(path.join(cls, 'img_1.png'), 'not really a png');
  await assert.rejects(() => exportTiny(cls), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, /is not empty and is not an Image Trainer export/);
    assert.match(e.message, /img_1\.png/);
    assert.equal(e.file, cls);
    assert.match(e.fix ?? '', /new or empty folder/);
    return true;
  });
  await assert.rejects(() => checkExportTarget(cls), /not an Image Trainer export/);
  assert.deepEqual(await tree(path.join(root, 'dataset')), ['export', path.join('export', 'img_1.png')]);
});

test('a previous export holding the user\'s own files, a file and a symlink are refused, never touched', async () => {
  const dir = path.join(root, 'withnotes');
  await exportTiny(dir);
  await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
  await assert.rejects(() => exportTiny(dir, 3), /files the export did not write \("notes\.txt"\)/);
  assert.equal(await fs.readFile(path.join(dir, 'notes.txt'), 'utf8'), 'mine');

  const file = path.join(root, 'afile');
  await fs.writeFile(file, 'x');
  await assert.rejects(() => exportTiny(file), /is a file, not a folder/);
  assert.equal(await fs.readFile(file, 'utf8'), 'x');

  const link = path.join(root, 'alink');
  await fs.symlink(path.join(root, 'fresh'), link);
  await assert.rejects(() => checkExportTarget(link), /is a symbolic link/);
  const under = path.join(file, 'sub');
  await assert.rejects(() => checkExportTarget(under), /cannot be created: .*afile is a file/);
});

test('leftovers of an interrupted export: a previous export left aside is put back, dead staging folders go', async () => {
  const dir = path.join(root, 'interrupted');
  await exportTiny(dir, 4);
  const deadPid = 2 ** 22 + 12345; // above pid_max on Linux: never a live process
  const aside = path.join(root, `.interrupted.export-${deadPid}-0badc0de.old`);
  const staging = path.join(root, `.interrupted.export-${deadPid}-deadbeef.tmp`);
  await fs.rename(dir, aside); // the kill fell between the swap's two renames
  await fs.mkdir(staging);
  await fs.writeFile(path.join(staging, '.image-trainer-export-staging'), '');
  await fs.writeFile(path.join(staging, 'weights.bin'), Buffer.alloc(1000));
  const unrelated = path.join(root, '.interrupted.export-notours.tmp');
  await fs.mkdir(unrelated);

  const p = await loadExported(dir, { createModel: tinyFactory });
  p.dispose();
  assert.ok(await readExportManifest(dir), 'the aside export is back in place');
  await assert.rejects(() => fs.access(aside));
  await assert.rejects(() => fs.access(staging));
  await fs.access(unrelated); // does not match the staging pattern: not ours, left alone
  assert.equal(await recoverExportFolder(dir), dir);
});

test('the pre-manifest native export (model.json + weights.bin) counts as a previous export', async () => {
  const dir = path.join(root, 'legacy');
  await exportTiny(dir);
  await fs.rm(path.join(dir, EXPORT_MANIFEST));
  assert.equal((await checkExportTarget(dir)).existing, 'export');
  await exportTiny(dir, 5);
  assert.ok(await readExportManifest(dir));
});

test('SIGKILL at random points while exporting over a previous export never loses a loadable model', { timeout: 180_000 }, async () => {
  const dir = path.join(root, 'killed', 'export');
  await exportTiny(dir, 100);
  const rand = seededRandom(2026);
  const sharp = (await import('sharp')).default;
  const img = await sharp(Buffer.alloc(20 * 20 * 3, 90), { raw: { width: 20, height: 20, channels: 3 } }).png().toBuffer();
  let completedAny = false;
  for (let round = 0; round < 10; round++) {
    const child = spawn(process.execPath, [CHILD, dir, String(1000 * (round + 1))], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // first wait for the child to be busy (one export done), then kill it somewhere in a later one
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child made no export: ${err}`)), 60_000);
      child.stdout.once('data', () => (clearTimeout(timer), resolve()));
      child.once('exit', () => (clearTimeout(timer), reject(new Error(`child exited early: ${err}`))));
    });
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 120)));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    completedAny ||= out.includes('exported');
    const p = await loadExported(dir, { createModel: tinyFactory }).catch((e: Error) => {
      throw new Error(`round ${round}: the previous model is not loadable: ${e.message}; beside it: ${String(readdirSync(path.dirname(dir)))}`);
    });
    assert.deepEqual(p.classes, classes);
    assert.equal((await p.predict(img)).probs.length, 3);
    p.dispose();
    assert.ok(await readExportManifest(dir), `round ${round}: a complete export is in place`);
  }
  assert.ok(completedAny);
  await exportTiny(dir, 7);
  assert.deepEqual(await fs.readdir(path.dirname(dir)), ['export'], 'no staging or aside folders stay behind');
});
