// The image-trainer CLI as a user runs it (a real child process): argument errors give one clear
// line on stderr and a non-zero exit, before any training starts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatDuration, lrFindChart, tableHeader, tableRow } from '../../src/trainer/cli/render';
import { Metrics, MetricsCollector } from '../../src/trainer/cli/metrics';

const MAIN = path.join(__dirname, '../../src/trainer/cli/main.js');

function cli(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: opts.cwd, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp, opts: { stdoutEmpty?: boolean } = {}): void {
  assert.notEqual(r.code, 0, 'exit code must be non-zero');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^image-trainer: error: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  if (opts.stdoutEmpty ?? true) assert.equal(r.stdout, '');
  else assert.doesNotMatch(r.stdout, /error/i, 'the error goes to stderr only');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-args-'));

test('train without --data: one line naming the flag', () => {
  assertOneLineError(cli(['train', '--label-re', '/([^/]+)_\\d+\\.png$']), /--data/);
});

test('train without a labelling rule, or with two: one line naming the three choices', () => {
  assertOneLineError(cli(['train', '--data', tmp]), /--label-re RE, --folders or --csv FILE/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--csv', 'x.csv']), /More than one labelling rule/);
});

test('a regex that does not compile, or has no capture group', () => {
  assertOneLineError(cli(['train', '--data', tmp, '--label-re', 'a(b']), /Invalid label pattern.*Fix:/);
  assertOneLineError(cli(['train', '--data', tmp, '--label-re', '/[^/]+_\\d+\\.png$']), /no capture group.*Fix: put the part/);
});

test('unknown architecture, bad numbers, bad learning rate', () => {
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--arch', 'resnet99']), /resnet99.*resnet18, resnet34, resnet50/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--size', 'big']), /--size must be a whole number/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--bs', '0']), /--bs must be a whole number from 1/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--valid-pct', '1.5']), /--valid-pct must be a number from 0 to 0.99/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--lr', '1e-3:1e-5']), /start .* is above stop/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--lr', 'fast']), /Invalid learning rate 'fast'/);
});

test('transform flags: choices, ranges, and combinations fastai does not have', () => {
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--aug', 'v3']), /--aug.*v2, v1, none/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--resize', 'stretch']), /--resize.*crop, squish, pad/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--min-scale', '0']), /--min-scale must be a number from 0.01 to 1/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--aug', 'v1', '--resize', 'pad']), /only crops.*Fix:/);
  assertOneLineError(cli(['train', '--data', tmp, '--folders', '--size', '64', '--presize', '32']), /presize must be .* ≥ the image size 64/);
});

test('unknown command suggests the near one', () => {
  const r = cli(['trian']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown command 'trian'/);
  assert.match(r.stderr, /Did you mean train\?/);
});

// The folder is checked before the backend starts, so no backend note (such as "the torch addon is
// not built", printed where it is missing) can come before the error: one line in either world.
test('a missing dataset folder is the data pipeline\'s clear error, before the backend starts; with --json also an error event on stdout', () => {
  const missing = path.join(tmp, 'no-such-folder');
  const human = cli(['train', '--data', missing, '--folders', '--out', path.join(tmp, 'run1')]);
  assertOneLineError(human, /no-such-folder.*Fix:/, { stdoutEmpty: false });
  const json = cli(['train', '--data', missing, '--folders', '--json', '--out', path.join(tmp, 'run2')]);
  assert.notEqual(json.code, 0);
  assert.equal(json.stderr.trim().split('\n').length, 1);
  const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; message?: string });
  assert.deepEqual(events.map((e) => e.type), ['error'], 'no backend event: the backend never started');
  assert.match(events.at(-1)?.message ?? '', /no-such-folder|not found|does not exist/i);
});

test('--help lists the subcommands', () => {
  const r = cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['train', 'lr-find', 'predict', 'interpret', 'demo']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('table rows as fastai prints them', () => {
  assert.equal(formatDuration(65.4), '01:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.match(tableHeader(), /^epoch\s+train_loss\s+valid_loss\s+error_rate\s+time$/);
  const row = tableRow({ type: 'epoch', runId: 'r', epoch: 0, trainLoss: 1.5, validLoss: 1.25, errorRate: 0.4, accuracy: 0.6, seconds: 21, trainImagesPerSecond: 10 });
  assert.match(row, /^0\s+1\.500000\s+1\.250000\s+0\.400000\s+00:21$/);
});

test('metrics.json collects backend, dataset, epochs and lr_find from events, matching its schema', async () => {
  const c = new MetricsCollector();
  assert.equal(c.snapshot(), null);
  c.onEvent({ type: 'backend', backend: { name: 'cpu', kind: 'cpu', fp16: false } });
  c.onEvent({ type: 'dataset', root: '/d', rule: { kind: 'folder' }, classes: ['a', 'b'], counts: [], trainCount: 8, validCount: 2, skipped: [] });
  c.onEvent({ type: 'fit_begin', runId: 'r', kind: 'fit_one_cycle', epochs: 1, batchesPerEpoch: 1, totalBatches: 1, lrs: [1e-3], frozenTo: 0, layerGroups: 1 });
  c.onEvent({ type: 'epoch', runId: 'r', epoch: 0, trainLoss: 1, validLoss: 0.9, errorRate: 0.5, accuracy: 0.5, seconds: 3, trainImagesPerSecond: 2.5 });
  c.onEvent({ type: 'fit_begin', runId: 'r2', kind: 'lr_find', epochs: 1, batchesPerEpoch: 2, totalBatches: 2, lrs: [1e-7], frozenTo: 0, layerGroups: 1 });
  c.onEvent({ type: 'lr_find_result', runId: 'r2', lrs: [1e-7, 1e-6], losses: [2, 1.9], suggestions: { minGrad: 1e-6, valley: null } });
  const file = path.join(tmp, 'm', 'metrics.json');
  assert.equal(await c.write(file), true);
  const m = Metrics.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  assert.deepEqual(Object.keys(m).sort(), ['backend', 'checkpoint', 'classes', 'epochs', 'epochs_completed', 'lr_find', 'status', 'train_count', 'valid_count']);
  assert.equal(m.status, 'running', 'until the CLI sets how the run ended');
  assert.equal(m.epochs_completed, 1);
  c.setOutcome({ status: 'stopped', checkpoint: null });
  await c.write(file);
  assert.equal(Metrics.parse(JSON.parse(fs.readFileSync(file, 'utf8'))).status, 'stopped');
  assert.deepEqual(m.epochs[0], { epoch: 0, train_loss: 1, valid_loss: 0.9, error_rate: 0.5, seconds: 3, train_images_per_second: 2.5 });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['metrics.json'], 'no temp file left behind');
});

test('lr_find chart: skips fastai\'s first 10 and last 5 points, ignores NaN, labels the lr axis', () => {
  const lrs = Array.from({ length: 100 }, (_, i) => 1e-7 * Math.pow(1e8, i / 99));
  const losses = lrs.map((lr, i) => (i === 50 ? NaN : 2 + Math.abs(Math.log10(lr) + 3)));
  const chart = lrFindChart(lrs, losses, 40, 6) as string;
  const lines = chart.split('\n');
  assert.equal(lines[0], 'loss');
  assert.equal(lines.length, 1 + (6 + 1) + 1, 'title, height+1 chart rows, axis');
  // lrs[10] and lrs[94] after the skips.
  assert.match(lines.at(-1) as string, /^\s+6e-7\s+4e\+0 {2}\(learning rate, log scale\)$/);
  assert.equal(lrFindChart([1e-3], [1]), null);
});
