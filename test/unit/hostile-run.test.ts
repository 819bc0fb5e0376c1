// Hostile corpus of run folders, as a careless user meets them with the real CLI: a bad --save
// name, an --out that cannot be created (a file in the way, a read-only or refusing place), a run
// folder another run holds, models/ or export/ in the way. Each is refused before the backend
// starts (so before the first batch), with one line naming the value and the fix, leaving the
// user's files and the other run's lock as they were. The run lock itself: O_EXCL, stale takeover,
// released on exit.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireRunLock, RUN_LOCK_FILE } from '../../src/trainer/io/run-lock';
import { makeFoldersSync } from '../../src/trainer/io/make-folders';
import { prepareRunFolder } from '../../src/trainer/io/run-folder';
import { writePng } from '../helpers/images';
import { signalAfterFirstEpoch } from '../helpers/cli-signal';
import { readCheckpointInfo } from '../../src/trainer/learner/checkpoint';

const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-run-'));
const DATA = path.join(TMP, 'data');
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

before(async () => {
  for (const c of ['cat', 'dog']) for (let i = 0; i < 3; i++) await writePng(path.join(DATA, c, `${c}_${i}.png`), 16, 16, i);
});

function cli(args: string[], as: { uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, ...as });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const train = (out: string, ...more: string[]) => ['train', '--data', DATA, '--folders', '--pretrained', 'none', '--size', '16', '--epochs', '1', '--json', '--out', out, ...more];

/** A process that stays alive while the test needs a live lock holder. */
function liveProcess(): { pid: number; stop(): void } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { pid: child.pid as number, stop: () => child.kill('SIGKILL') };
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(dir: string, pid: number, host = os.hostname()): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, RUN_LOCK_FILE);
  fs.writeFileSync(file, JSON.stringify({ pid, host, startedAt: '2026-01-01T00:00:00.000Z', command: 'train' }));
  return file;
}

/** Refused with one line naming the value, before the backend started (no backend event), exit 1. */
function assertRefusedBeforeTraining(r: { code: number | null; stdout: string; stderr: string }, expected: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /^image-trainer: error: /);
  assert.match(lines[0] as string, expected);
  assert.match(lines[0] as string, /Fix: /);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.deepEqual(events.map((e) => e.type), ['error'], 'refused before the backend started');
}

const readOnlyPlace = '/proc/image-trainer-run/out'; // exists (/proc) but refuses new folders: Node's recursive mkdir loops forever there

// [case, set up and return the --out folder and extra flags, what the error must say, check after]
const cases: [string, () => { out: string; flags?: string[]; after?: () => void }, RegExp][] = [
  ['--save with a slash', () => ({ out: path.join(TMP, 'r-save1'), flags: ['--save', '../escape'] }), /Invalid checkpoint --save name '\.\.\/escape'.*no slashes/],
  ['--save starting with a dot', () => ({ out: path.join(TMP, 'r-save2'), flags: ['--save', '.hidden'] }), /--save name '\.hidden'.*starts with a dot/],
  ['--save empty', () => ({ out: path.join(TMP, 'r-save3'), flags: ['--save', ''] }), /--save name ''.*empty/],
  ['--out is a file', () => {
    const out = path.join(TMP, 'out-file');
    fs.writeFileSync(out, 'mine');
    return { out, after: () => assert.equal(fs.readFileSync(out, 'utf8'), 'mine') };
  }, /--out folder cannot be used: .*out-file is a file, not a folder/],
  ['--out under a file', () => {
    const f = path.join(TMP, 'a-file');
    fs.writeFileSync(f, 'mine');
    return { out: path.join(f, 'run') };
  }, /a-file is a file, so .* cannot be created under it/],
  ['--out in a place that refuses new folders (/proc), which must not hang', () => ({ out: readOnlyPlace }), /Cannot create the --out folder \/proc\/image-trainer-run\/out/],
  ['--out held by a live run', () => {
    const out = path.join(TMP, 'r-locked');
    const holder = liveProcess();
    const lock = writeLock(out, holder.pid);
    const before = fs.readFileSync(lock, 'utf8');
    fs.writeFileSync(path.join(out, 'metrics.json'), '{"theirs":true}');
    return {
      out,
      after: () => {
        holder.stop();
        assert.equal(fs.readFileSync(lock, 'utf8'), before, 'the other run\'s lock is untouched');
        assert.equal(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'), '{"theirs":true}', 'the other run\'s metrics.json is untouched');
      },
    };
  }, /run folder .*r-locked is in use by another train run, pid \d+ on .*Fix: Wait for that run to finish, or pass another --out/],
  ['--out held by a run on another machine', () => {
    const out = path.join(TMP, 'r-remote');
    writeLock(out, 1, 'some-other-host');
    return { out };
  }, /in use by another train run, pid 1 on some-other-host.*delete .*\.image-trainer\.lock/],
  ['models/ is a file', () => {
    const out = path.join(TMP, 'r-models');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'models'), 'mine');
    return { out, after: () => assert.ok(!fs.existsSync(path.join(out, RUN_LOCK_FILE)), 'lock released') };
  }, /Cannot save checkpoints in .*models: it is a file/],
  ['the checkpoint name is a folder', () => {
    const out = path.join(TMP, 'r-ckdir');
    fs.mkdirSync(path.join(out, 'models', 'stage-1.safetensors'), { recursive: true });
    return { out };
  }, /Cannot save the checkpoint .*stage-1\.safetensors: a folder of that name is in the way.*another --save name/],
  ['the export folder holds the user\'s files', () => {
    const out = path.join(TMP, 'r-export');
    fs.mkdirSync(path.join(out, 'export'), { recursive: true });
    fs.writeFileSync(path.join(out, 'export', 'notes.txt'), 'mine');
    return { out, after: () => assert.equal(fs.readFileSync(path.join(out, 'export', 'notes.txt'), 'utf8'), 'mine') };
  }, /Export folder .*export is not empty and is not an Image Trainer export/],
  ['--data is missing', () => ({ out: path.join(TMP, 'r-nodata'), flags: ['--data', path.join(TMP, 'no-such-data')] }), /Folder not found.*no-such-data/],
];

for (const [name, setup, expected] of cases) {
  test(`run folder: ${name} is refused before training with the value and the fix`, () => {
    const { out, flags = [], after: check } = setup();
    const r = cli(train(out, ...flags));
    assertRefusedBeforeTraining(r, expected);
    check?.();
  });
}

// Root may write anywhere, so as root the CLI runs as `nobody` (its files readable by all) to meet
// a real permission refusal; as anyone else the folder's mode alone refuses.
const NOBODY = 65534;
const unprivileged = () => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

test('run folder: an --out this user may not create (EACCES) or a run folder it may not write is refused before training', () => {
  fs.chmodSync(TMP, 0o755);
  const locked = path.join(TMP, 'not-mine');
  fs.mkdirSync(locked);
  fs.writeFileSync(path.join(locked, 'keep.txt'), 'mine');
  fs.chmodSync(locked, 0o555);
  const under = cli(train(path.join(locked, 'run')), unprivileged());
  assertRefusedBeforeTraining(under, /--out folder .*not-mine.*run.*permission denied.*Fix: /);
  const inside = cli(train(locked), unprivileged());
  assertRefusedBeforeTraining(inside, /not-mine.*(permission denied|not writable).*Fix: /);
  fs.chmodSync(locked, 0o755);
  assert.deepEqual(fs.readdirSync(locked), ['keep.txt'], 'nothing created, nothing removed');
  assert.equal(fs.readFileSync(path.join(locked, 'keep.txt'), 'utf8'), 'mine');
});

test('run folder: a stale lock (its process is gone) is taken over, and released when the run ends', () => {
  const out = path.join(TMP, 'r-stale');
  writeLock(out, deadPid());
  // The export check after the lock refuses, so the run ends right after taking the lock.
  fs.mkdirSync(path.join(out, 'export'));
  fs.writeFileSync(path.join(out, 'export', 'keep.txt'), 'mine');
  const r = cli(train(out));
  assertRefusedBeforeTraining(r, /Export folder/);
  assert.ok(!fs.existsSync(path.join(out, RUN_LOCK_FILE)), 'the taken-over lock is released');
  assert.deepEqual(fs.readdirSync(out).sort(), ['export'], 'no lock, probe or temp file left');
});

test('run lock: O_EXCL, a second holder in another process is refused, release removes only our own lock', () => {
  const dir = path.join(TMP, 'lock-unit');
  fs.mkdirSync(dir);
  const lock = acquireRunLock(dir, { command: 'train' });
  const owner = JSON.parse(fs.readFileSync(lock.file, 'utf8')) as { pid: number; host: string; startedAt: string };
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, os.hostname());
  assert.ok(!Number.isNaN(Date.parse(owner.startedAt)));
  assert.throws(() => acquireRunLock(dir), /in use by another train run, pid \d+/, 'the same process cannot hold it twice');
  const other = spawnSync(process.execPath, ['-e', `
    const { acquireRunLock } = require(${JSON.stringify(path.join(__dirname, '../../src/trainer/io/run-lock.js'))});
    try { acquireRunLock(${JSON.stringify(dir)}); console.log('TOOK'); } catch (e) { console.log(e.name + ': ' + e.message); }`], { encoding: 'utf8' });
  assert.match(other.stdout, /RunLockedError: .*pid \d+/);
  // Someone replaced the lock (after we lost it): release leaves theirs alone.
  fs.writeFileSync(lock.file, JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 'x', command: 'train' }));
  lock.release();
  assert.ok(fs.existsSync(lock.file));
  fs.rmSync(lock.file);
  const again = acquireRunLock(dir);
  again.release();
  again.release();
  assert.ok(!fs.existsSync(again.file));
});

test('run lock: two processes racing for one stale lock: exactly one wins', async () => {
  const dir = path.join(TMP, 'lock-race');
  for (let round = 0; round < 3; round++) {
    writeLock(dir, deadPid());
    const script = `
      const { acquireRunLock } = require(${JSON.stringify(path.join(__dirname, '../../src/trainer/io/run-lock.js'))});
      setTimeout(() => {
        try { acquireRunLock(${JSON.stringify(dir)}); console.log('WON'); setTimeout(() => {}, 5000); } catch (e) { console.log('LOST ' + e.name); }
      }, 300);`;
    const results = await Promise.all([0, 1, 2].map(() => new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', () => resolve(out.trim()));
    })));
    assert.equal(results.filter((r) => r === 'WON').length, 1, results.join(', '));
    assert.ok(results.filter((r) => r !== 'WON').every((r) => r === 'LOST RunLockedError'), results.join(', '));
    assert.ok(!fs.existsSync(path.join(dir, RUN_LOCK_FILE)), 'the winner released it on exit');
  }
});

test('run lock: a process that exits (process.exit, as the CLI\'s second Ctrl-C does) leaves no lock', () => {
  const dir = path.join(TMP, 'lock-exit');
  fs.mkdirSync(dir);
  const r = spawnSync(process.execPath, ['-e', `
    const { acquireRunLock } = require(${JSON.stringify(path.join(__dirname, '../../src/trainer/io/run-lock.js'))});
    acquireRunLock(${JSON.stringify(dir)}); process.exit(130);`]);
  assert.equal(r.status, 130);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('make folders: a place that refuses new folders fails at once instead of looping (Node\'s recursive mkdir hangs there)', () => {
  assert.throws(() => makeFoldersSync('/proc/image-trainer-x/y'), /ENOENT/);
  assert.throws(() => prepareRunFolder('/proc/image-trainer-x/y'), /Cannot create the --out folder/);
  const deep = path.join(TMP, 'a', 'b', 'c');
  makeFoldersSync(deep);
  makeFoldersSync(deep);
  assert.ok(fs.statSync(deep).isDirectory());
  // A dangling symlink is not a folder, though mkdir says EEXIST: nothing is made where it points.
  const dangling = path.join(TMP, 'dangling');
  fs.symlinkSync(path.join(TMP, 'nowhere'), dangling);
  assert.throws(() => makeFoldersSync(dangling), /ENOTDIR: .*dangling is not a folder/);
  assert.ok(!fs.existsSync(path.join(TMP, 'nowhere')));
});

// --- a run that is stopped ----------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

interface MetricsFile { status: string; epochs_completed: number; checkpoint: string | null; epochs: { epoch: number }[] }

/** Starts a real train, sends `signal` in the epoch after the first, returns the exit code and metrics.json. */
async function stopAfterFirstEpoch(out: string, signal: NodeJS.Signals, more: string[] = []): Promise<{ code: number | null; metrics: MetricsFile; stderr: string }> {
  const { code, stderr } = await signalAfterFirstEpoch([MAIN, ...train(out, '--epochs', '10000', ...more)], signal, 150_000);
  return { code, stderr, metrics: JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as MetricsFile };
}

function assertNoLeftovers(out: string): void {
  const files = filesUnder(out);
  assert.ok(!files.includes(RUN_LOCK_FILE), `lock left: ${files.join(', ')}`);
  assert.deepEqual(files.filter((f) => /\.tmp$|\.part$|write-test|takeover/.test(path.basename(f)) || /\.(tmp|old|del)(\/|$)/.test(f)), [], 'no temp files left');
}

test('Ctrl-C after the first epoch: exit 130, metrics.json says stopped with the epochs that finished, no checkpoint claimed or written, no lock or temp files', { timeout: 200_000 }, async () => {
  const out = path.join(TMP, 'sigint');
  const { code, metrics, stderr } = await stopAfterFirstEpoch(out, 'SIGINT');
  assert.equal(code, 130, stderr);
  assert.equal(metrics.status, 'stopped');
  assert.ok(metrics.epochs_completed >= 1 && metrics.epochs_completed < 200);
  assert.equal(metrics.epochs_completed, metrics.epochs.length);
  assert.deepEqual(metrics.epochs.map((e) => e.epoch), [...Array(metrics.epochs.length).keys()]);
  assert.equal(metrics.checkpoint, null);
  assert.ok(!fs.existsSync(path.join(out, 'models', 'stage-1.safetensors')), 'metrics.json says no checkpoint: there is none');
  assert.ok(!fs.existsSync(path.join(out, 'export')), 'nothing exported from a stopped run');
  assertNoLeftovers(out);
});

test('SIGTERM with --save-best: exit 143, metrics.json names the best-epoch checkpoint on disk, which loads', { timeout: 200_000 }, async () => {
  const out = path.join(TMP, 'sigterm');
  const { code, metrics, stderr } = await stopAfterFirstEpoch(out, 'SIGTERM', ['--save-best', 'train_loss']);
  assert.equal(code, 143, stderr);
  assert.equal(metrics.status, 'stopped');
  assert.equal(metrics.checkpoint, path.join('models', 'model.safetensors'));
  const info = await readCheckpointInfo(path.join(out, metrics.checkpoint));
  assert.deepEqual(info.classes, ['cat', 'dog']);
  assertNoLeftovers(out);
});

test('a run that completes: metrics.json says completed and names the checkpoint it saved; the lock is gone', { timeout: 200_000 }, () => {
  const out = path.join(TMP, 'complete');
  const r = cli(train(out));
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as MetricsFile;
  assert.equal(m.status, 'completed');
  assert.equal(m.epochs_completed, 1);
  assert.equal(m.checkpoint, path.join('models', 'stage-1.safetensors'));
  assert.ok(fs.statSync(path.join(out, m.checkpoint)).isFile());
  assertNoLeftovers(out);
});
