// Hostile corpus for the cleaner: undo logs planted in <dataset>/.image-trainer/, symlinks that lead
// out of the dataset, files the dataset does not list. Each case asserts its outcome: refused with an
// error naming the file, and every file outside the dataset (and inside it) left as it was.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DatasetCleaner } from '../../src/trainer/interpret/cleaner';
import { confineToDataset } from '../../src/trainer/interpret';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-cleaner-'));
process.env.XDG_DATA_HOME = path.join(TMP, 'xdg-data');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

interface World {
  root: string;
  outside: string;
  victim: string;
  cleaner: DatasetCleaner;
  items: string[];
}

let n = 0;
function world(): World {
  const base = path.join(TMP, `w${n++}`);
  const root = path.join(base, 'ds');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'cat'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dog'), { recursive: true });
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  fs.mkdirSync(path.join(root, 'models'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  const items = [path.join(root, 'cat', 'a.jpg'), path.join(root, 'dog', 'b.jpg')];
  for (const f of items) fs.writeFileSync(f, 'img');
  fs.writeFileSync(path.join(root, '.git', 'config'), '[core]');
  fs.writeFileSync(path.join(root, 'models', 'stage-1.safetensors'), 'ckpt');
  const victim = path.join(outside, 'precious.jpg');
  fs.writeFileSync(victim, 'precious');
  const cleaner = new DatasetCleaner({ root, rule: { kind: 'folder', train: '.', valid: null }, classes: ['cat', 'dog'], useOsTrash: false, items });
  return { root, outside, victim, cleaner, items };
}

function plant(w: World, entries: unknown[]): void {
  fs.mkdirSync(path.join(w.root, '.image-trainer'), { recursive: true });
  fs.writeFileSync(path.join(w.root, '.image-trainer', 'cleaner-log.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

/** Every file under dir with its content, to assert nothing moved. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(p)}`;
      else out[p] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

const base = { id: 'x1', time: '2026-01-01T00:00:00Z' };

// Undo-log cases: [name, entries given the world] → undo must refuse and change nothing.
const plantedLogs: [string, (w: World) => unknown[]][] = [
  ['delete whose "trash copy" is a file outside the dataset', (w) => [{ ...base, op: 'delete', from: path.join(w.root, 'cat', 'stolen.jpg'), to: w.victim, trash: 'dataset' }]],
  ['delete that restores to a path outside the dataset', (w) => [{ ...base, op: 'delete', from: path.join(w.outside, 'evil.jpg'), to: w.items[0], trash: 'dataset' }]],
  ['os-trash delete whose copy is an arbitrary outside file', (w) => [{ ...base, op: 'delete', from: path.join(w.root, 'cat', 'x.jpg'), to: w.victim, trash: 'os' }]],
  ['os-trash delete with a faked files/ folder and no trashinfo', (w) => {
    const fake = path.join(w.outside, 'Trash', 'files');
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, 'u1'), 'x');
    return [{ ...base, op: 'delete', from: path.join(w.root, 'cat', 'x.jpg'), to: path.join(fake, 'u1'), trash: 'os' }];
  }],
  ['os-trash delete whose trashinfo names another original', (w) => {
    const t = path.join(w.outside, 'Trash');
    fs.mkdirSync(path.join(t, 'files'), { recursive: true });
    fs.mkdirSync(path.join(t, 'info'), { recursive: true });
    fs.writeFileSync(path.join(t, 'files', 'u2'), 'x');
    fs.writeFileSync(path.join(t, 'info', 'u2.trashinfo'), `[Trash Info]\nPath=/home/someone/else.jpg\n`);
    return [{ ...base, op: 'delete', from: path.join(w.root, 'cat', 'x.jpg'), to: path.join(t, 'files', 'u2'), trash: 'os', trashInfo: path.join(t, 'info', 'u2.trashinfo') }];
  }],
  ['relabel move that pulls an outside file into the dataset', (w) => [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, 'cat', 'c.jpg'), to: w.victim, oldLabel: 'cat', newLabel: 'dog' }]],
  ['relabel move that pushes a dataset image outside', (w) => [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.outside, 'moved.jpg'), to: w.items[1], oldLabel: 'cat', newLabel: 'dog' }]],
  ['relabel move with ../ in the restore path', (w) => [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, '..', 'outside', 'up.jpg'), to: w.items[1], oldLabel: 'cat', newLabel: 'dog' }]],
  ['relabel move that overwrites .git/config', (w) => {
    fs.rmSync(path.join(w.root, '.git', 'config'));
    return [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, '.git', 'config'), to: w.items[0], oldLabel: 'cat', newLabel: 'dog' }];
  }],
  ['relabel move of a non-image (.git/config) into a class folder', (w) => [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, 'cat', 'config.jpg'), to: path.join(w.root, '.git', 'config'), oldLabel: 'cat', newLabel: 'dog' }]],
  ['relabel move into the cleaner\'s own folder', (w) => [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, '.image-trainer', 'x.jpg'), to: w.items[0], oldLabel: 'cat', newLabel: 'dog' }]],
  ['csv relabel naming a CSV outside the dataset', (w) => {
    fs.writeFileSync(path.join(w.outside, 'labels.csv'), 'name,label\na.jpg,dog\n');
    return [{ ...base, op: 'relabel', kind: 'csv', file: w.items[0], csvFile: path.join(w.outside, 'labels.csv'), oldLabel: 'cat', newLabel: 'dog' }];
  }],
  ['restore target whose folder is a symlink leading outside', (w) => {
    fs.symlinkSync(w.outside, path.join(w.root, 'linked'));
    return [{ ...base, op: 'relabel', kind: 'move', from: path.join(w.root, 'linked', 'via-link.jpg'), to: w.items[0], oldLabel: 'cat', newLabel: 'dog' }];
  }],
  ['entry with a relative path', () => [{ ...base, op: 'relabel', kind: 'move', from: 'x.jpg', to: '../../outside/precious.jpg', oldLabel: 'cat', newLabel: 'dog' }]],
];

for (const [name, entries] of plantedLogs) {
  test(`planted undo log: ${name} → refused, nothing moved`, async () => {
    const w = world();
    const planted = entries(w);
    plant(w, planted);
    const before = { ...snapshot(w.root), ...snapshot(w.outside) };
    // A log entry failing the schema is skipped, so there is then nothing to undo: also a refusal.
    await assert.rejects(w.cleaner.undo(), (err: Error & { file?: string }) => {
      assert.match(err.message, /outside|Refusing|not an image|own files|system trash|trashinfo|trashed from|labelled by|Nothing to undo/);
      return true;
    });
    assert.deepEqual({ ...snapshot(w.root), ...snapshot(w.outside) }, before);
  });
}

test('undo log that is a symlink to /dev/zero or a FIFO fails fast with the file', async () => {
  const w = world();
  fs.mkdirSync(path.join(w.root, '.image-trainer'), { recursive: true });
  fs.symlinkSync('/dev/zero', path.join(w.root, '.image-trainer', 'cleaner-log.jsonl'));
  await assert.rejects(w.cleaner.undo(), /cleaner log .* not a regular file/);
  const w2 = world();
  fs.mkdirSync(path.join(w2.root, '.image-trainer'), { recursive: true });
  const fifo = path.join(w2.root, '.image-trainer', 'cleaner-log.jsonl');
  require('node:child_process').execFileSync('mkfifo', [fifo]);
  await assert.rejects(w2.cleaner.undo(), /named pipe/);
});

test('a .image-trainer folder linked outside the dataset: no log is written there, nothing moves', async () => {
  const w = world();
  fs.symlinkSync(w.outside, path.join(w.root, '.image-trainer'));
  const before = snapshot(w.outside);
  await assert.rejects(w.cleaner.relabel(w.items[0], 'dog'), /outside the dataset/);
  assert.deepEqual(snapshot(w.outside), before);
  assert.ok(fs.existsSync(w.items[0]));
});

const listedOnly: [string, (w: World) => string][] = [
  ['.git/config', (w) => path.join(w.root, '.git', 'config')],
  ["the extension's checkpoint", (w) => path.join(w.root, 'models', 'stage-1.safetensors')],
  ['an image the dataset does not list', (w) => {
    const f = path.join(w.root, 'cat', 'unlisted.jpg');
    fs.writeFileSync(f, 'x');
    return f;
  }],
  ['a listed-looking image that is a symlink to an outside file', (w) => {
    const f = path.join(w.root, 'cat', 'link.jpg');
    fs.symlinkSync(w.victim, f);
    return f;
  }],
  ['a path with ../ out of the dataset', (w) => path.join(w.root, '..', 'outside', 'precious.jpg')],
];

for (const [name, pick] of listedOnly) {
  for (const op of ['relabel', 'delete'] as const) {
    test(`${op} of ${name} is refused and nothing changes`, async () => {
      const w = world();
      const f = pick(w);
      const before = { ...snapshot(w.root), ...snapshot(w.outside) };
      await assert.rejects(op === 'relabel' ? w.cleaner.relabel(f, 'dog') : w.cleaner.delete(f), /not one of the dataset's images|outside|not an image/);
      assert.deepEqual({ ...snapshot(w.root), ...snapshot(w.outside) }, before);
    });
  }
}

test('relabel into a class folder that is a symlink leading outside is refused', async () => {
  const w = world();
  fs.rmSync(path.join(w.root, 'dog'), { recursive: true });
  fs.symlinkSync(w.outside, path.join(w.root, 'dog'));
  const before = snapshot(w.outside);
  const cleaner = new DatasetCleaner({ root: w.root, rule: { kind: 'folder', train: '.', valid: null }, classes: ['cat', 'dog'], useOsTrash: false, items: [w.items[0]] });
  await assert.rejects(cleaner.relabel(w.items[0], 'dog'), /outside the dataset/);
  assert.deepEqual(snapshot(w.outside), before);
  assert.ok(fs.existsSync(w.items[0]));
});

test('delete into a .trash that is a symlink leading outside is refused', async () => {
  const w = world();
  fs.symlinkSync(w.outside, path.join(w.root, '.trash'));
  await assert.rejects(w.cleaner.delete(w.items[0]), /outside the dataset/);
  assert.ok(fs.existsSync(w.items[0]));
});

test('a genuine relabel, delete and their undo still work with the listed items', async () => {
  const w = world();
  const a = await w.cleaner.relabel(w.items[0], 'dog');
  assert.equal(a.op, 'relabel');
  await w.cleaner.undo();
  assert.ok(fs.existsSync(w.items[0]));
  await w.cleaner.delete(w.items[1]);
  assert.ok(!fs.existsSync(w.items[1]));
  await w.cleaner.undo();
  assert.ok(fs.existsSync(w.items[1]));
});

test('Grad-CAM / request confinement in the trainer: outside, ../ and symlinked files are refused', () => {
  const w = world();
  const ds = { root: w.root };
  assert.equal(confineToDataset(ds, w.items[0]), w.items[0]);
  assert.throws(() => confineToDataset(ds, w.victim), /outside/);
  assert.throws(() => confineToDataset(ds, '../outside/precious.jpg'), /outside/);
  fs.symlinkSync(w.victim, path.join(w.root, 'cat', 'l.jpg'));
  assert.throws(() => confineToDataset(ds, path.join(w.root, 'cat', 'l.jpg')), /symbolic link/);
  assert.throws(() => confineToDataset(ds, path.join(w.root, '.git', 'config')), /not an image|own files/);
});
