// The trainer child process, forked for real as the extension forks it: validated envelopes,
// malformed messages answered (never fatal), real image files, a tiny fit with events, stop in
// the middle of a fit, busy refusal, shutdown and parent disconnect without orphans.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { TrainerToHost, type Method, type ParamsOf } from '../../src/protocol/requests';
import type { TrainerEvent } from '../../src/protocol/events';
import { makeTempDir, removeDir, writePetsLikeDataset } from '../helpers/images';
import { isAlive } from '../helpers/process';

const CHILD = path.join(__dirname, '../../src/trainer/child.js');

type Response = Extract<TrainerToHost, { kind: 'response' }>;

class ChildHarness {
  readonly proc: ChildProcess;
  readonly events: TrainerEvent[] = [];
  readonly invalid: unknown[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Response) => void>();
  private readonly eventWaiters: { pred: (e: TrainerEvent) => boolean; resolve: (e: TrainerEvent) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';

  constructor() {
    this.proc = fork(CHILD, [], { serialization: 'json', stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, IMAGE_TRAINER_WASM_THREADS: '1' } });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.proc.on('message', (raw) => {
      const msg = TrainerToHost.safeParse(raw);
      if (!msg.success) {
        this.invalid.push(raw);
        return;
      }
      if (msg.data.kind === 'event') {
        const e = msg.data.event;
        this.events.push(e);
        for (const w of [...this.eventWaiters]) {
          if (w.pred(e)) {
            this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      } else {
        this.waiting.get(msg.data.id)?.(msg.data);
        this.waiting.delete(msg.data.id);
      }
    });
  }

  sendRaw(message: unknown): void {
    this.proc.send(message as object);
  }

  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<Response> {
    return this.requestRaw(method, params);
  }

  requestRaw(method: string, params: unknown): Promise<Response> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.send({ kind: 'request', id, method, params });
    });
  }

  waitForEvent(pred: (e: TrainerEvent) => boolean, timeoutMs = 120_000): Promise<TrainerEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event in ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.eventWaiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

function ok(r: Response): unknown {
  if (!r.ok) assert.fail(`request failed: ${r.error.message}${r.error.fix ? ` (fix: ${r.error.fix})` : ''}`);
  return r.result;
}

let dataDir = '';
before(async () => {
  dataDir = await makeTempDir('child-data-');
  // Two classes with their own hue: learnable in a couple of epochs at a tiny size.
  await writePetsLikeDataset(dataDir, { classes: ['red_thing', 'blue_thing'], perClass: 16, width: 24, height: 20, ext: 'png' });
});
after(async () => removeDir(dataDir));

test('malformed messages get an error event (and an error response when they carry an id); the child keeps serving', async () => {
  const child = new ChildHarness();
  try {
    child.sendRaw({ hello: 'world' });
    await child.waitForEvent((e) => e.type === 'error' && /Malformed request/.test(e.message), 20_000);
    child.sendRaw({ kind: 'request', id: 7, method: 42, params: {} });
    const r = await new Promise<Response>((resolve) => {
      const onMsg = (raw: unknown): void => {
        const m = TrainerToHost.safeParse(raw);
        if (m.success && m.data.kind === 'response' && m.data.id === 7) {
          child.proc.off('message', onMsg);
          resolve(m.data);
        }
      };
      child.proc.on('message', onMsg);
    });
    assert.equal(r.ok, false);
    const unknown = await child.requestRaw('trainHarder', {});
    assert.equal(unknown.ok, false);
    assert.match(!unknown.ok ? unknown.error.message : '', /Unknown method 'trainHarder'/);
    const bad = await child.requestRaw('fitOneCycle', { epochs: 'four' });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error.message : '', /Invalid parameters for 'fitOneCycle': epochs/);
    const noLearner = await child.request('fit', { epochs: 1 });
    assert.equal(noLearner.ok, false);
    assert.match(!noLearner.ok ? noLearner.error.fix ?? '' : '', /Image Trainer: Create Learner/);
    // Still alive and answering real work.
    const preview = ok(await child.request('previewLabels', { root: dataDir, labelling: { kind: 'nameRe', pattern: '/([^/]+)_\\d+\\.png$' }, limit: 3 })) as { classes: string[]; items: unknown[]; total: number };
    assert.deepEqual(preview.classes, ['blue_thing', 'red_thing']);
    assert.equal(preview.items.length, 3);
    assert.equal(preview.total, 32);
    assert.deepEqual(child.invalid, [], 'every message from the child matches the protocol');
    ok(await child.request('shutdown', {}));
    assert.deepEqual(await child.exited, { code: 0, signal: null });
  } finally {
    child.kill();
  }
});

test('a dataset error carries the file and the fix', async () => {
  const child = new ChildHarness();
  try {
    const r = await child.request('openDataset', { root: path.join(dataDir, 'missing'), labelling: { kind: 'folder' } });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.ok(r.error.fix, 'has a fix');
      assert.match(`${r.error.message} ${r.error.file ?? ''}`, /missing/);
    }
  } finally {
    child.proc.disconnect();
    await child.exited;
  }
});

test('open a real dataset, create a learner, fit with events, refuse a second job, stop mid-fit, shut down', { timeout: 240_000 }, async () => {
  const child = new ChildHarness();
  try {
    const ds = ok(await child.request('openDataset', {
      root: dataDir, labelling: { kind: 'nameRe', pattern: '/([^/]+)_\\d+\\.png$' }, validPct: 0.25, seed: 1, size: 16, bs: 8, numWorkers: 1,
    })) as { classes: string[]; trainCount: number; validCount: number };
    assert.deepEqual(ds.classes, ['blue_thing', 'red_thing']);
    assert.equal(ds.trainCount + ds.validCount, 32);
    assert.ok(child.events.some((e) => e.type === 'dataset'));

    ok(await child.request('createLearner', { arch: 'resnet18', pretrained: 'none' }));
    assert.ok(child.events.some((e) => e.type === 'backend'), 'backend event before the first learner');

    const fit = child.request('fitOneCycle', { epochs: 1, maxLr: 1e-2 });
    await child.waitForEvent((e) => e.type === 'fit_begin');
    const busy = await child.request('lrFind', {});
    assert.equal(busy.ok, false);
    assert.match(!busy.ok ? busy.error.message : '', /busy/);
    const records = ok(await fit) as { trainLoss: number }[];
    assert.equal(records.length, 1);
    assert.ok(Number.isFinite(records[0]?.trainLoss));
    const runId = (child.events.find((e) => e.type === 'fit_begin') as { runId: string }).runId;
    assert.ok(child.events.some((e) => e.type === 'batch' && e.runId === runId));
    assert.ok(child.events.some((e) => e.type === 'epoch' && e.runId === runId));
    assert.ok(child.events.some((e) => e.type === 'fit_end' && e.runId === runId && e.status === 'completed'));

    // Stop: a long fit ends at the next batch, the learner stays usable.
    const long = child.request('fit', { epochs: 50, lr: 1e-3 });
    const first = await child.waitForEvent((e) => e.type === 'batch' && e.runId !== runId);
    const stopped = ok(await child.request('stop', {})) as { stopping: string | null };
    assert.equal(stopped.stopping, 'fit');
    ok(await long);
    const end = await child.waitForEvent((e) => e.type === 'fit_end' && e.runId === (first as { runId: string }).runId);
    assert.equal((end as { status: string }).status, 'stopped');
    const batchesAfter = child.events.filter((e) => e.type === 'batch' && e.runId === (first as { runId: string }).runId).length;
    assert.ok(batchesAfter < 10, `stopped within a few batches (saw ${batchesAfter})`);
    ok(await child.request('freeze', {}));

    const pid = child.proc.pid as number;
    ok(await child.request('shutdown', {}));
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    assert.equal(isAlive(pid), false);
    assert.deepEqual(child.invalid, []);
  } finally {
    child.kill();
  }
});

test('the child exits when its parent disconnects (no orphan)', async () => {
  const child = new ChildHarness();
  try {
    ok(await child.request('previewLabels', { root: dataDir, labelling: { kind: 'nameRe', pattern: '/([^/]+)_\\d+\\.png$' } }));
    child.proc.disconnect();
    const exit = await Promise.race([child.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.notEqual(exit, 'timeout', 'child exited after disconnect');
  } finally {
    child.kill();
  }
});
