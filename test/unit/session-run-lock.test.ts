// The extension's trainer writes into the dataset (models/, .image-trainer/export, the cleaner's
// moves), a folder other VS Code windows and CLI runs may write too: each writing job takes the
// folder's run lock for its duration, and a job another process holds the lock for is refused
// before anything is written, naming the holder and the fix.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_LOCK_FILE } from '../../src/trainer/io/run-lock';
import { TrainerSession } from '../../src/trainer/session';
import { makeTempDir, removeDir, writePetsLikeDataset } from '../helpers/images';

process.env.IMAGE_TRAINER_WASM_THREADS ??= '1';

const PATTERN = '/([^/]+)_\\d+\\.png$';
let dir = '';
let session: TrainerSession;

before(async () => {
  dir = await makeTempDir('session-lock-');
  await writePetsLikeDataset(dir, { classes: ['red_thing', 'blue_thing'], perClass: 6, width: 20, height: 20, ext: 'png' });
  session = new TrainerSession({ runLockHolder: 'Image Trainer (VS Code)' });
  await session.openDataset({ root: dir, labelling: { kind: 'nameRe', pattern: PATTERN }, validPct: 0.25, seed: 1, size: 16, bs: 4, numWorkers: 1 });
  await session.createLearner({ arch: 'resnet18', pretrained: 'none' });
});
after(async () => {
  await session.shutdown({});
  await removeDir(dir);
});

/** Another process holding the dataset's run lock until killed, as a CLI run with --out <dataset> does. */
async function otherHolder(): Promise<ChildProcess> {
  const lockModule = path.join(__dirname, '../../src/trainer/io/run-lock.js');
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(lockModule)}).acquireRunLock(${JSON.stringify(dir)}, { command: 'image-trainer train' }); console.log('HELD'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('HELD') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child;
}

test('a save while another process holds the dataset\'s run lock is refused with the holder and the fix, and writes nothing', async () => {
  const holder = await otherHolder();
  try {
    await assert.rejects(session.save({ name: 'stage-1' }), (e: Error & { fix?: string }) => {
      assert.equal(e.name, 'RunLockedError');
      assert.match(e.message, /in use by another image-trainer train run, pid \d+/);
      assert.match(e.fix ?? '', /Wait for that run to finish, or stop it/);
      return true;
    });
    await assert.rejects(session.fit({ epochs: 1 }), /in use by another image-trainer train run/);
    assert.ok(!fs.existsSync(path.join(dir, 'models')), 'no checkpoint folder was made');
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
  }
});

test('once the holder is gone (killed: its lock is stale), save takes the lock, writes, and leaves no lock behind', async () => {
  const saved = await session.save({ name: 'stage-1' });
  assert.ok(fs.existsSync(saved.path), saved.path);
  assert.ok(!fs.existsSync(path.join(dir, RUN_LOCK_FILE)), 'the job released its lock');
});

test('jobs that only read (showBatch) do not take the lock', async () => {
  const holder = await otherHolder();
  try {
    await session.showBatch({ n: 2 });
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
  }
});
