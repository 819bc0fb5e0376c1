// The cleaner on real files in temporary datasets: relabel for each labelling rule, name
// collisions, read-only files and folders, delete + undo, and undo after the user moved the file.
import { test, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromNameRe } from '../../src/trainer/data/from-name-re';
import { DatasetCleaner } from '../../src/trainer/interpret/cleaner';
import { freeNameCandidates } from '../../src/trainer/interpret/free-names';

// The OS-trash test must not touch the real trash: point the freedesktop trash into the temp area
// (read by the trash package when it is first imported).
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'cleaner-'));
process.env.XDG_DATA_HOME = path.join(TMP, 'xdg-data');

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(TMP, 'ds-'));
});
afterEach(() => {
  chmodAll(root, 0o755);
});
process.on('exit', () => {
  chmodAll(TMP, 0o755);
  fs.rmSync(TMP, { recursive: true, force: true });
});

function chmodAll(dir: string, mode: number): void {
  if (!fs.existsSync(dir)) return;
  fs.chmodSync(dir, mode);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chmodAll(p, mode);
    else fs.chmodSync(p, 0o644);
  }
}

function put(rel: string, content = rel): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

const PETS = '/([^/]+)_\\d+.jpg$';

test('name-regex: relabel renames exactly the captured span and logs it; undo renames back', async () => {
  const f = put('images/german_shorthaired_105.jpg', 'dog bytes');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: PETS }, useOsTrash: false });
  assert.equal(cleaner.labelOf(f), 'german_shorthaired');
  const a = await cleaner.relabel(f, 'beagle');
  assert.equal(a.kind, 'move');
  assert.equal(path.basename((a as { to: string }).to), 'beagle_105.jpg');
  assert.ok(!fs.existsSync(f));
  assert.equal(fs.readFileSync(path.join(root, 'images/beagle_105.jpg'), 'utf8'), 'dog bytes');
  assert.equal(cleaner.labelOf(path.join(root, 'images/beagle_105.jpg')), 'beagle');
  const log = fs.readFileSync(path.join(root, '.image-trainer/cleaner-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual([log.length, log[0].op, log[0].oldLabel, log[0].newLabel, log[0].from], [1, 'relabel', 'german_shorthaired', 'beagle', f]);

  await cleaner.undo();
  assert.equal(fs.readFileSync(f, 'utf8'), 'dog bytes');
  assert.ok(!fs.existsSync(path.join(root, 'images/beagle_105.jpg')));
  await assert.rejects(cleaner.undo(), /Nothing to undo/);
});

test('name-regex collision: a fresh number that still matches the pattern, never an overwrite', async () => {
  const f = put('images/pug_7.jpg', 'the pug');
  put('images/beagle_7.jpg', 'beagle 7');
  put('images/beagle_8.jpg', 'beagle 8');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: PETS }, useOsTrash: false });
  const a = (await cleaner.relabel(f, 'beagle')) as { to: string };
  assert.equal(path.basename(a.to), 'beagle_9.jpg');
  assert.equal(fs.readFileSync(a.to, 'utf8'), 'the pug');
  assert.equal(fs.readFileSync(path.join(root, 'images/beagle_7.jpg'), 'utf8'), 'beagle 7');
  assert.equal(fs.readFileSync(path.join(root, 'images/beagle_8.jpg'), 'utf8'), 'beagle 8');
});

test('name-regex: zero padding is kept, and a label the pattern cannot capture is refused', async () => {
  assert.deepEqual([...freeNameCandidates('cat_007.png', 3)].slice(0, 3), ['cat_007.png', 'cat_008.png', 'cat_009.png']);
  const f = put('imgs/cat_1.jpg');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: '/([a-z]+)_\\d+.jpg$' }, useOsTrash: false });
  await assert.rejects(cleaner.relabel(f, 'Big Cat'), (e: Error & { file?: string; fix?: string }) => /would not give the label 'Big Cat'/.test(e.message) && e.file === f && !!e.fix);
  assert.ok(fs.existsSync(f));
  await assert.rejects(cleaner.relabel(f, 'cat'), /already labelled 'cat'/);
  await assert.rejects(cleaner.relabel(f, '../x'), /cannot be a class name/);
});

test('folder: relabel moves into the new class folder of the same split', async () => {
  const f = put('valid/cat/001.png', 'a cat?');
  put('train/dog/001.png');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'folder', train: 'train', valid: 'valid' }, classes: ['cat', 'dog'], useOsTrash: false });
  const a = (await cleaner.relabel(f, 'dog')) as { to: string; oldLabel: string };
  assert.equal(a.to, path.join(root, 'valid/dog/001.png'));
  assert.equal(a.oldLabel, 'cat');
  assert.equal(fs.readFileSync(a.to, 'utf8'), 'a cat?');
  // collision inside the target folder → suffix, never overwrite
  const g = put('valid/cat/001.png', 'second');
  const b = (await cleaner.relabel(g, 'dog')) as { to: string };
  assert.equal(b.to, path.join(root, 'valid/dog/001_1.png'));
  assert.equal(fs.readFileSync(a.to, 'utf8'), 'a cat?');
  await assert.rejects(cleaner.relabel(b.to, 'wolf'), /'wolf' is not one of the dataset's classes/);
});

test('folder without split folders: class folders directly under the root', async () => {
  const f = put('cat/sub/x.png');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'folder', train: '.', valid: null }, useOsTrash: false });
  assert.equal(cleaner.labelOf(f), 'cat');
  const a = (await cleaner.relabel(f, 'dog')) as { to: string };
  assert.equal(a.to, path.join(root, 'dog/sub/x.png'));
});

test('csv: rewrites only the label field of that row, atomically; undo restores it', async () => {
  const csv = 'name,label,note\r\ntrain/a.png,cat,"first, with comma"\r\ntrain/b.png,dog,x\r\n';
  const csvFile = put('labels.csv', csv);
  const f = put('train/b.png');
  put('train/a.png');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'csv', csvFile, fnCol: 'name', labelCol: 'label' }, useOsTrash: false });
  assert.equal(cleaner.labelOf(f), 'dog');
  const a = await cleaner.relabel(f, 'cat');
  assert.equal(a.kind, 'csv');
  assert.equal(fs.readFileSync(csvFile, 'utf8'), 'name,label,note\r\ntrain/a.png,cat,"first, with comma"\r\ntrain/b.png,cat,x\r\n');
  assert.ok(fs.existsSync(f), 'the image itself stays');
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.endsWith('.tmp')), [], 'no temp files left');
  await cleaner.undo();
  assert.equal(fs.readFileSync(csvFile, 'utf8'), csv);
});

test('read-only file: clear error naming the file and the fix; nothing moved', async () => {
  const f = put('images/pug_1.jpg', 'pug');
  fs.chmodSync(f, 0o444);
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: PETS }, useOsTrash: false });
  await assert.rejects(cleaner.relabel(f, 'beagle'), (e: Error & { file?: string; fix?: string }) => {
    assert.equal(e.file, f);
    assert.match(e.message, /read-only/);
    assert.match(e.fix ?? '', /chmod u\+w/);
    return true;
  });
  await assert.rejects(cleaner.delete(f), /read-only/);
  assert.equal(fs.readFileSync(f, 'utf8'), 'pug');
  assert.deepEqual(fs.readdirSync(path.join(root, 'images')), ['pug_1.jpg']);
  assert.deepEqual(cleaner.history(), []);
});

test('read-only folder and read-only CSV: clear errors, nothing lost', async () => {
  const f = put('train/cat/1.png', 'one');
  fs.chmodSync(path.dirname(f), 0o555);
  const folders = new DatasetCleaner({ root, rule: { kind: 'folder', train: 'train', valid: null }, useOsTrash: false });
  await assert.rejects(folders.relabel(f, 'dog'), (e: Error & { file?: string; fix?: string }) => e.file === path.dirname(f) && /read-only/.test(e.message) && /chmod u\+w/.test(e.fix ?? ''));
  assert.equal(fs.readFileSync(f, 'utf8'), 'one');
  assert.ok(!fs.existsSync(path.join(root, 'train/dog/1.png')));

  const csvFile = put('labels.csv', 'name,label\ntrain/cat/1.png,cat\n');
  fs.chmodSync(csvFile, 0o444);
  const csv = new DatasetCleaner({ root, rule: { kind: 'csv', csvFile, fnCol: 'name', labelCol: 'label' }, useOsTrash: false });
  await assert.rejects(csv.relabel(f, 'dog'), (e: Error & { file?: string }) => e.file === csvFile && /read-only/.test(e.message));
  assert.equal(fs.readFileSync(csvFile, 'utf8'), 'name,label\ntrain/cat/1.png,cat\n');
});

test('delete to the dataset trash, then undo puts it back', async () => {
  const f = put('train/cat/1.png', 'keep me');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'folder', train: 'train', valid: null }, useOsTrash: false });
  const a = await cleaner.delete(f);
  assert.equal(a.trash, 'dataset');
  assert.equal(a.to, path.join(root, '.trash/train/cat/1.png'));
  assert.ok(!fs.existsSync(f));
  // a second file of the same name goes to a fresh name in the trash
  put('train/cat/1.png', 'another');
  const b = await cleaner.delete(f);
  assert.equal(b.to, path.join(root, '.trash/train/cat/1_1.png'));
  await cleaner.undo();
  assert.equal(fs.readFileSync(f, 'utf8'), 'another');
  // undo of the first delete would overwrite the restored file: refused
  await assert.rejects(cleaner.undo(), (e: Error & { fix?: string }) => /would be overwritten/.test(e.message) && !!e.fix);
  fs.renameSync(f, path.join(root, 'train/cat/2.png'));
  await cleaner.undo();
  assert.equal(fs.readFileSync(f, 'utf8'), 'keep me');
  assert.throws(() => cleaner.labelOf(path.join(root, '.trash/train/cat/1.png')), /Image Trainer's own files|does not exist/);
});

test('delete to the OS trash (freedesktop, redirected to a temp folder) and undo from it', async () => {
  const f = put('train/cat/9.png', 'os trash');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'folder', train: 'train', valid: null } });
  const a = await cleaner.delete(f);
  // Where the OS trash is unusable (no home, odd mounts) the dataset trash is the designed fallback.
  console.log(`# deleted via the ${a.trash} trash to ${a.to}`);
  assert.ok(!fs.existsSync(f));
  if (a.trash === 'os') {
    assert.ok(a.to && fs.existsSync(a.to), 'the OS trash copy is recorded');
    assert.ok(a.to!.startsWith(TMP) || !a.to!.startsWith(os.homedir()), 'test did not use the real trash');
  }
  await cleaner.undo();
  assert.equal(fs.readFileSync(f, 'utf8'), 'os trash');
  if (a.trashInfo) assert.ok(!fs.existsSync(a.trashInfo), '.trashinfo removed on undo');
});

test('undo after the user moved the file: clear error, nothing changed', async () => {
  const f = put('images/pug_3.jpg');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: PETS }, useOsTrash: false });
  const a = (await cleaner.relabel(f, 'beagle')) as { to: string };
  const elsewhere = path.join(root, 'moved.jpg');
  fs.renameSync(a.to, elsewhere);
  await assert.rejects(cleaner.undo(), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, /no longer at/);
    assert.equal(e.file, a.to);
    assert.match(e.fix ?? '', /put it back/);
    return true;
  });
  assert.ok(fs.existsSync(elsewhere));
  assert.ok(!fs.existsSync(f));
  assert.equal(cleaner.undoable().length, 1, 'the action stays undoable once the file is back');
  fs.renameSync(elsewhere, a.to);
  await cleaner.undo();
  assert.ok(fs.existsSync(f));
});

test('files outside the dataset (path traversal, symlinks) are refused', async () => {
  const outside = path.join(TMP, `outside-${path.basename(root)}.jpg`);
  fs.writeFileSync(outside, 'not yours');
  fs.mkdirSync(path.join(root, 'images'));
  fs.symlinkSync(outside, path.join(root, 'images/link_1.jpg'));
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: PETS }, useOsTrash: false });
  await assert.rejects(cleaner.relabel(path.join(root, '../', path.basename(outside)), 'x'), /outside the dataset folder/);
  await assert.rejects(cleaner.delete(outside), /outside the dataset folder/);
  await assert.rejects(cleaner.delete(path.join(root, 'images/link_1.jpg')), /outside the dataset folder/);
  assert.ok(fs.existsSync(outside));
});

test('a Python-style named group pattern works; an invalid pattern is a clear error', async () => {
  const f = put('img/pug_2.jpg');
  const py = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: '/(?P<label>[^/]+)_\\d+.jpg$' }, useOsTrash: false });
  assert.equal(py.labelOf(f), 'pug');
  const bad = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: '/([^/]+_\\d+.jpg$' }, useOsTrash: false });
  await assert.rejects(bad.relabel(f, 'beagle'), /pattern .* cannot be used: Invalid label pattern: Invalid regular expression/);
  assert.ok(fs.existsSync(f));
});

test('a case-insensitive pattern: the cleaner compiles the rule exactly as the labeller did, flags included', async () => {
  const beagle = put('images/Beagle_1.JPG');
  for (const f of ['Beagle_2.jpg', 'pug_3.jpg', 'pug_4.JPG']) put(`images/${f}`);
  const ds = await fromNameRe(root, '(?i)/([a-z]+)_\\d+\\.jpg$');
  assert.deepEqual([ds.rule, ds.classes], [{ kind: 'nameRe', pattern: '\\/([a-z]+)_\\d+\\.jpg$', flags: 'i' }, ['Beagle', 'pug']]);
  const cleaner = new DatasetCleaner({ root, rule: ds.rule, classes: ds.classes, useOsTrash: false });
  assert.equal(cleaner.labelOf(beagle), 'Beagle');
  const a = (await cleaner.relabel(beagle, 'pug')) as { to: string };
  // the upper-case extension still matches, so the renamed file gets the new label
  assert.equal(path.basename(a.to), 'pug_1.JPG');
  assert.equal(cleaner.labelOf(a.to), 'pug');
  // the same rule in Python syntax, as a hand-written rule has it
  const py = new DatasetCleaner({ root, rule: { kind: 'nameRe', pattern: '(?i)/(?P<label>[a-z]+)_\\d+\\.jpg$' }, useOsTrash: false });
  assert.equal(py.labelOf(a.to), 'pug');
});

test('a label function dataset cannot be relabelled', async () => {
  const f = put('a.png');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'nameFunc' }, useOsTrash: false });
  await assert.rejects(cleaner.relabel(f, 'x'), /not possible for a dataset labelled by 'nameFunc'/);
});
