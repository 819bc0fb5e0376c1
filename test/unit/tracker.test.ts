// fastai v2's trackers (callback/tracker.py), CSVLogger and LabelSmoothingCrossEntropy.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../src/trainer/backend';
import { CSVLogger, CancelFitException, EarlyStoppingCallback, Learner, LearnerError, PatienceTracker, ReduceLROnPlateau, SaveModelCallback, TrackerCallback, labelSmoothingCrossEntropy, type RunContext } from '../../src/trainer/learner';
import type { Monitor } from '../../src/trainer/learner/callbacks';
import { createTinyModel } from '../helpers/tiny-model';
import { makeFakeData } from '../helpers/fake-data';

let dir = '';
before(async () => {
  await tf.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tracker-test-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function fakeRun(validLosses: number[]): { ctx: RunContext; lrs: number[] } {
  const rows: { validLoss: number }[] = [];
  const opt = { lrs: [1e-3, 1e-2] };
  const learner = { recorder: { epochs: rows }, opt, log: () => undefined };
  const ctx = { kind: 'fit', epoch: 0, learner, validLosses, rows } as unknown as RunContext;
  return { ctx, lrs: opt.lrs };
}

test('EarlyStoppingCallback(patience 2) stops after two epochs without a lower valid_loss, as v2', () => {
  const cb = new EarlyStoppingCallback({ patience: 2 });
  const { ctx } = fakeRun([]);
  cb.beforeFit(ctx);
  const rows = (ctx.learner.recorder as unknown as { epochs: { validLoss: number }[] }).epochs;
  const seen: number[] = [];
  for (const [epoch, v] of [1.0, 0.8, 0.85, 0.79, 0.8, 0.81, 0.5].entries()) {
    rows.push({ validLoss: v });
    (ctx as { epoch: number }).epoch = epoch;
    try {
      cb.afterEpoch(ctx);
      seen.push(epoch);
    } catch (err) {
      assert.ok(err instanceof CancelFitException);
      break;
    }
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4], 'epoch 5 is the second without improving on 0.79');
});

test('ReduceLROnPlateau divides every group by factor after patience epochs without improvement', () => {
  const cb = new ReduceLROnPlateau({ patience: 1, factor: 10 });
  const { ctx } = fakeRun([]);
  cb.beforeFit(ctx);
  const rows = (ctx.learner.recorder as unknown as { epochs: { validLoss: number }[] }).epochs;
  for (const v of [1.0, 0.9, 0.95]) {
    rows.push({ validLoss: v });
    cb.afterEpoch(ctx);
  }
  const lrs = ctx.learner.opt.lrs;
  assert.ok(Math.abs(lrs[0] - 1e-4) < 1e-18 && Math.abs(lrs[1] - 1e-3) < 1e-17, String(lrs));
});

test('save-best keeps the best epoch and loads it at the end; CSVLogger writes history.csv', async () => {
  const d = makeFakeData({ nTrain: 48, nValid: 24 });
  const l = new Learner({ data: d, model: createTinyModel({ numClasses: d.c, ps: [0, 0], seed: 5 }), path: dir });
  l.addTrainingCallbacks({ saveBest: 'valid_loss' });
  // a large constant lr makes the valid loss move both ways
  const rows = await l.fit(4, 5e-2);
  const best = Math.min(...rows.map((r) => r.validLoss!));
  const now = await l.validate();
  assert.ok(Math.abs(now.validLoss - best) < 1e-5, `reloaded ${now.validLoss}, best ${best}`);
  await fs.access(path.join(dir, 'models', 'model.safetensors'));
  const csv = (await fs.readFile(path.join(dir, 'history.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv[0], 'epoch,train_loss,valid_loss,error_rate,accuracy,time,phase');
  assert.equal(csv.length, 5);
  assert.equal(Number(csv[1].split(',')[2]).toFixed(6), rows[0].validLoss!.toFixed(6));
  l.dispose();
});

test('CSVLogger makes the missing folders of learn.path, and a place that refuses new folders (/proc) fails at once', async () => {
  const nested = path.join(dir, 'csv-run', 'a', 'b');
  const ctxAt = (p: string) => ({ kind: 'fit', learner: { path: p, recorder: { epochs: [] } } }) as unknown as RunContext;
  await new CSVLogger().beforeFit(ctxAt(nested));
  assert.match(await fs.readFile(path.join(nested, 'history.csv'), 'utf8'), /^epoch,train_loss/);
  // Node's recursive mkdir retries forever here; the test would time out instead of failing.
  await assert.rejects(new CSVLogger().beforeFit(ctxAt('/proc/self/no-such-folder/run')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EPERM');
});

test('bad tracker options are LearnerErrors that say which option and what it takes', () => {
  const cases: [string, () => unknown, RegExp, RegExp][] = [
    ['monitor', () => new SaveModelCallback({ monitor: 'val_acc' as Monitor }), /Unknown monitor 'val_acc'/, /saveBest.*valid_loss, train_loss, error_rate, accuracy/],
    ['patience 0', () => new EarlyStoppingCallback({ patience: 0 }), /patience .* got 0/, /earlyStop.*whole number/],
    ['patience 1.5', () => new ReduceLROnPlateau({ patience: 1.5 }), /patience .* got 1\.5/, /reduceLrOnPlateau.*whole number/],
    ['factor 0', () => new ReduceLROnPlateau({ factor: 0 }), /factor must be a number > 1, got 0/, /factor > 1/],
    ['factor 0.5', () => new ReduceLROnPlateau({ factor: 0.5 }), /factor .* got 0\.5/, /factor > 1/],
    ['minLr -1', () => new ReduceLROnPlateau({ minLr: -1 }), /minLr .* got -1/, /minLr ≥ 0/],
  ];
  for (const [name, make, message, fix] of cases) {
    assert.throws(make, (err: unknown) => {
      assert.ok(err instanceof LearnerError, `${name}: ${String(err)}`);
      assert.match(err.message, message, name);
      assert.match(err.fix ?? '', fix, name);
      return true;
    });
  }
});

test('LabelSmoothingCrossEntropy(0.1) equals fastai: eps/c·(−Σ log p) + (1−eps)·nll', () => {
  // logits [2, 0, -1], target 0: log-softmax by hand
  const z = [2, 0, -1];
  const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
  const logp = z.map((v) => v - lse);
  const expected = (0.1 / 3) * -(logp[0] + logp[1] + logp[2]) + 0.9 * -logp[0];
  const out = labelSmoothingCrossEntropy(0.1)(tf.tensor2d([z]), tf.tensor1d([0], 'int32'));
  assert.ok(Math.abs(out.dataSync()[0] - expected) < 1e-6);
  out.dispose();
});

function epochsOf(ctx: RunContext): { validLoss?: number; accuracy?: number }[] {
  return (ctx.learner.recorder as unknown as { epochs: { validLoss?: number; accuracy?: number }[] }).epochs;
}

test('TrackerCallback as v2: comp and min_delta decide newBest; reset_on_fit false keeps the best across fits', () => {
  class Probe extends TrackerCallback {
    protected onEpoch(): void {}
  }
  const acc = new Probe({ monitor: 'accuracy', minDelta: 0.05 });
  assert.equal(acc.comp, 'greater');
  const { ctx } = fakeRun([]);
  acc.beforeFit(ctx);
  const news: boolean[] = [];
  for (const a of [0.5, 0.54, 0.56, 0.62]) {
    epochsOf(ctx).push({ accuracy: a });
    void acc.afterEpoch(ctx);
    news.push(acc.newBest);
  }
  assert.deepEqual(news, [true, false, true, true], 'an improvement must exceed min_delta over the best');

  const keep = new EarlyStoppingCallback({ patience: 1, resetOnFit: false });
  const run1 = fakeRun([]).ctx;
  keep.beforeFit(run1);
  epochsOf(run1).push({ validLoss: 0.5 });
  keep.afterEpoch(run1);
  const run2 = fakeRun([]).ctx;
  keep.beforeFit(run2);
  assert.equal(keep.best, 0.5, 'the best of the first fit carries over');
  epochsOf(run2).push({ validLoss: 0.6 });
  assert.throws(() => keep.afterEpoch(run2), CancelFitException, 'worse than the earlier fit: patience 1 ends it');

  const fresh = new EarlyStoppingCallback({ patience: 1 });
  fresh.beforeFit(run1);
  epochsOf(run1).push({ validLoss: 0.1 });
  fresh.afterEpoch(run1);
  fresh.beforeFit(run2);
  assert.equal(fresh.best, Infinity, 'reset_on_fit (default) starts each fit afresh');
  assert.throws(() => new EarlyStoppingCallback({ patience: 0 }), /patience/);
});

test('EarlyStopping and ReduceLROnPlateau share one PatienceTracker: wait resets on a new best and after a reduction', () => {
  assert.ok(new EarlyStoppingCallback() instanceof PatienceTracker);
  assert.ok(new ReduceLROnPlateau() instanceof PatienceTracker);
  const cb = new ReduceLROnPlateau({ patience: 2, factor: 2 });
  const { ctx } = fakeRun([]);
  cb.beforeFit(ctx);
  const top: number[] = [];
  // best 1.0 · 1.1 (wait 1) · 0.9 best · 1.0 (1) · 1.0 (2 → lr/2, wait 0) · 1.0 (1) · 1.0 (2 → lr/2)
  for (const v of [1.0, 1.1, 0.9, 1.0, 1.0, 1.0, 1.0]) {
    epochsOf(ctx).push({ validLoss: v });
    cb.afterEpoch(ctx);
    top.push(ctx.learner.opt.lrs[1]);
  }
  assert.deepEqual(top, [1e-2, 1e-2, 1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3]);
});
