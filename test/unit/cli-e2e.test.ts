// End to end, as a user runs it: the real CLI (a child process) trains resnet18 from scratch at a
// small size on real Fashion-MNIST images, its --json stream and metrics.json follow their
// schemas, the error rate falls well below chance, the exported model predicts, lr-find records
// its sweep, interpret writes its report, and Ctrl-C stops a fit, still writes metrics.json and exits 130.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainerEvent } from '../../src/protocol/events';
import { Metrics } from '../../src/trainer/cli/metrics';
import { exportFashionMnist, fashionMnistAvailable, type ExportedDataset } from '../helpers/fashion-mnist';
import { makeTempDir, removeDir } from '../helpers/images';
import { requires } from '../helpers/requires';
import { signalAfterFirstEpoch } from '../helpers/cli-signal';
import { findJemalloc, JEMALLOC_FIX } from '../../src/trainer/backend/allocator';

const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');
const skip = requires(fashionMnistAvailable(), 'Fashion-MNIST', 'apt-get install dataset-fashion-mnist');
const BIN = path.join(__dirname, '../../../bin/image-trainer.js');
// image-trainer relaunches itself on jemalloc as a child where Node has no process.execve (< 22.15)
const relaunchesAsChild = findJemalloc() !== null && typeof (process as { execve?: unknown }).execve !== 'function';
const skipRelaunch = skip || requires(findJemalloc() !== null, 'libjemalloc.so.2', JEMALLOC_FIX) || (relaunchesAsChild ? false : 'this Node replaces the process (process.execve): no child to check');
const PATTERN = '/([^/]+)_\\d+\\.png$';
// Four visually distinct classes (chance error 0.75), 60 images each: a few epochs suffice.
const CLASSES = ['trouser', 'bag', 'sneaker', 't_shirt'];

let work = '';
let ds: ExportedDataset;

function cli(args: string[], timeout = 170_000) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout, env: { ...process.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readMetrics(out: string): Metrics {
  return Metrics.parse(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')));
}

const common = (out: string) => ['--data', ds.dir, '--label-re', PATTERN, '--arch', 'resnet18', '--pretrained', 'none', '--size', '32', '--bs', '16', '--seed', '7', '--out', out];

before(async () => {
  if (skip) return;
  work = await makeTempDir('cli-e2e-');
  ds = await exportFashionMnist(path.join(work, 'images'), { perClass: 60, classes: CLASSES });
});
after(async () => {
  if (work) await removeDir(work);
});

test('train --json: valid event lines only, metrics.json per schema, error rate well below chance; predict the export', { skip, timeout: 240_000 }, (t) => {
  const out = path.join(work, 'run');
  const r = cli(['train', ...common(out), '--epochs', '4', '--lr', '1e-2', '--json']);
  assert.equal(r.code, 0, `exit 0; stderr:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const events = lines.map((l) => TrainerEvent.parse(JSON.parse(l)));
  assert.equal(events[0]?.type, 'backend', 'the backend comes first');
  assert.ok(events.some((e) => e.type === 'dataset'));
  assert.equal(events.filter((e) => e.type === 'epoch').length, 4);
  assert.ok(events.some((e) => e.type === 'fit_end' && e.status === 'completed'));

  const m = readMetrics(out);
  assert.deepEqual(m.classes, [...CLASSES].sort());
  assert.equal(m.train_count + m.valid_count, 240);
  assert.equal(m.epochs.length, 4);
  assert.equal(m.lr_find, undefined);
  const final = m.epochs[3]?.error_rate ?? 1;
  t.diagnostic(`error_rate after 4 epochs: ${final}; ${m.epochs[3]?.train_images_per_second.toFixed(1)} train images/s`);
  assert.ok(final < 0.4, `error_rate ${final} should be well below chance (0.75)`);
  assert.ok((m.epochs[3]?.train_images_per_second ?? 0) > 0);
  assert.ok(fs.existsSync(path.join(out, 'models', 'stage-1.safetensors')));

  const files = [ds.files[0] as string, ds.files[ds.files.length - 1] as string];
  const p = cli(['predict', '--model', path.join(out, 'export'), ...files, '--json']);
  assert.equal(p.code, 0, p.stderr);
  const preds = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; file?: string; className?: string; probs?: number[] }).filter((x) => x.type === 'prediction');
  assert.equal(preds.length, 2);
  for (const [i, pr] of preds.entries()) {
    assert.equal(pr.file, files[i]);
    assert.ok(CLASSES.includes(pr.className as string));
    assert.ok(Math.abs((pr.probs ?? []).reduce((a, b) => a + b, 0) - 1) < 1e-4);
  }

  // interpret: the same data flags, architecture and size from the checkpoint.
  const i = cli(['interpret', '--model', out, '--data', ds.dir, '--label-re', PATTERN, '--seed', '7', '--k', '4']);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /Most confused/);
  assert.match(i.stdout, /Top losses/);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'interpretation.json'), 'utf8')) as { n: number; classes: string[] };
  assert.equal(summary.n, m.valid_count);
  assert.deepEqual(summary.classes, m.classes);
  assert.ok(fs.existsSync(path.join(out, 'report.html')));
});

test('lr-find writes lr_find into metrics.json', { skip, timeout: 180_000 }, () => {
  const out = path.join(work, 'lr');
  const r = cli(['lr-find', ...common(out), '--num-it', '12']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lr_find suggestions/);
  const m = readMetrics(out);
  assert.ok(m.lr_find, 'lr_find present');
  assert.ok(m.lr_find.lrs.length >= 2);
  assert.equal(m.lr_find.lrs.length, m.lr_find.losses.length);
  assert.deepEqual(m.epochs, []);
});

test('fine-tune: one run, one table and one metrics.json with the phase of each epoch', { skip, timeout: 240_000 }, () => {
  const out = path.join(work, 'ft');
  const r = cli(['fine-tune', ...common(out), '--epochs', '1', '--freeze-epochs', '1', '--base-lr', '1e-2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^epoch\s+train_loss\s+valid_loss\s+error_rate\s+time\s+phase$/m);
  assert.match(r.stdout, /^0\s.*\sfrozen$/m);
  assert.match(r.stdout, /^1\s.*\sunfrozen$/m);
  const m = readMetrics(out);
  assert.deepEqual(m.epochs.map((e) => [e.epoch, e.phase]), [[0, 'frozen'], [1, 'unfrozen']]);
  assert.ok(fs.existsSync(path.join(out, 'models', 'stage-1.safetensors')));
});

test('Ctrl-C stops at the next batch, writes metrics.json and exits 130', { skip, timeout: 180_000 }, async () => {
  const out = path.join(work, 'sigint');
  const { code, stdout, stderr } = await signalAfterFirstEpoch([MAIN, 'train', ...common(out), '--epochs', '10000', '--json'], 'SIGINT', 120_000);
  assert.equal(code, 130, stderr);
  const events = stdout.trim().split('\n').map((l) => TrainerEvent.parse(JSON.parse(l)));
  assert.ok(events.some((e) => e.type === 'fit_end' && e.status === 'stopped'));
  const m = readMetrics(out);
  assert.ok(m.epochs.length >= 1 && m.epochs.length < 10000);
});

test('a terminal\'s Ctrl-C reaches image-trainer and its jemalloc child at once: still one graceful stop, exit 130', { skip: skipRelaunch, timeout: 180_000 }, async () => {
  const out = path.join(work, 'sigint-group');
  const { code, stdout, stderr } = await signalAfterFirstEpoch([BIN, 'train', ...common(out), '--epochs', '10000', '--json'], 'SIGINT', 120_000, { group: true });
  assert.equal(code, 130, stderr);
  const events = stdout.trim().split('\n').map((l) => TrainerEvent.parse(JSON.parse(l)));
  assert.ok(events.some((e) => e.type === 'fit_end' && e.status === 'stopped'), 'stopped at the next batch, not quit at once');
  assert.ok(readMetrics(out).epochs.length >= 1);
});

test('image-trainer killed (SIGKILL): its jemalloc child stops as on SIGTERM instead of running on unseen', { skip: skipRelaunch, timeout: 180_000 }, async () => {
  const out = path.join(work, 'orphan');
  let trainer = 0;
  await signalAfterFirstEpoch([BIN, 'train', ...common(out), '--epochs', '10000', '--json'], 'SIGKILL', 120_000, {
    act: async (pid) => {
      trainer = Number(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      assert.ok(trainer > 0, 'image-trainer runs the command in a child');
      process.kill(pid, 'SIGKILL');
    },
  });
  const alive = () => {
    try {
      process.kill(trainer, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let waited = 0; alive() && waited < 60_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
  assert.ok(!alive(), `the child (pid ${trainer}) still runs a minute after image-trainer was killed`);
  const m = readMetrics(out);
  assert.equal(m.status, 'stopped');
});
