import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { TrainerClient, TrainerRequestError, TrainerExitedError, ExitInfo } from '../../src/extension/trainerClient';
import type { TrainerEvent } from '../../src/protocol/events';
import { isAlive } from '../helpers/process';

const stub = path.join(__dirname, '..', 'fixtures', 'stub-trainer.js');
const clients: TrainerClient[] = [];
function client(lines: string[] = []): TrainerClient {
  const c = new TrainerClient({ modulePath: stub, log: (l) => lines.push(l), shutdownGraceMs: 1000 });
  clients.push(c);
  return c;
}
after(async () => {
  for (const c of clients) await c.dispose();
});

test('starts on first request, resolves results, forwards events and stdout lines', async () => {
  const lines: string[] = [];
  const c = client(lines);
  const events: TrainerEvent[] = [];
  c.onEvent((e) => events.push(e));
  assert.equal(c.running, false);
  const info = await c.request('backendInfo', {});
  assert.deepEqual(info, { name: 'cpu', kind: 'cpu', fp16: false });
  assert.equal(c.running, true);
  assert.equal(events[0].type, 'backend');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(lines.some((l) => l === 'stub stdout line'), lines.join('\n'));
  await c.dispose();
});

test('invalid params are rejected before anything is sent', async () => {
  const c = client();
  await assert.rejects(c.request('fitOneCycle', { epochs: 0 }), (e: Error) => e instanceof TrainerRequestError && /epochs/.test(e.message));
  assert.equal(c.running, false, 'no child started for a bad request');
});

test('ok:false becomes a TrainerRequestError carrying the fix', async () => {
  const c = client();
  await assert.rejects(c.request('save', { name: 'stage-1' }), (e: TrainerRequestError) => e.fix === 'stub fix' && /cannot save/.test(e.message));
  await c.dispose();
});

test('an answer that does not match its result schema is refused with the method named, and logged', async () => {
  const lines: string[] = [];
  const c = client(lines);
  await assert.rejects(c.request('freeze', {}), (e: TrainerRequestError) => e instanceof TrainerRequestError && /malformed answer to 'freeze'/.test(e.message) && /arch/.test(e.message));
  assert.ok(lines.some((l) => /answer to 'freeze' does not match/.test(l)), lines.join('\n'));
  assert.deepEqual(await c.request('backendInfo', {}), { name: 'cpu', kind: 'cpu', fp16: false }, 'the client keeps working');
  await c.dispose();
});

test('a malformed message is logged and ignored; the client keeps working', async () => {
  const lines: string[] = [];
  const c = client(lines);
  const events: TrainerEvent[] = [];
  c.onEvent((e) => events.push(e));
  await c.request('backendInfo', { backend: '__malformed' });
  assert.ok(lines.some((l) => /malformed message/.test(l)), lines.join('\n'));
  assert.deepEqual(events.map((e) => e.type), ['backend']);
  assert.deepEqual(await c.request('backendInfo', {}), { name: 'cpu', kind: 'cpu', fp16: false });
  await c.dispose();
});

test('a crash rejects pending requests and reports the reason with stderr', async () => {
  const c = client();
  const exits: ExitInfo[] = [];
  c.onExit((e) => exits.push(e));
  await assert.rejects(c.request('backendInfo', { backend: '__crash' }), (e: Error) => e instanceof TrainerExitedError);
  assert.equal(exits.length, 1);
  assert.equal(exits[0].expected, false);
  assert.equal(exits[0].code, 3);
  assert.match(exits[0].reason, /exit code 3.*simulated crash/);
  // restart on next need
  assert.deepEqual(await c.request('backendInfo', {}), { name: 'cpu', kind: 'cpu', fp16: false });
  await c.dispose();
});

test('stop ends a running fit and dispose leaves no orphan', async () => {
  const c = client();
  const events: TrainerEvent[] = [];
  c.onEvent((e) => events.push(e));
  const fit = c.request('fitOneCycle', { epochs: 5 });
  // the stub's second batch waits for stop, so the order is certain: one batch, stop, stopped
  const firstBatch = new Promise<void>((resolve) => c.onEvent((e) => e.type === 'batch' && resolve()));
  await firstBatch;
  assert.deepEqual(await c.request('stop', {}), { stopping: 'fitOneCycle' });
  await fit;
  const end = events.find((e) => e.type === 'fit_end');
  assert.equal(end?.type === 'fit_end' && end.status, 'stopped');
  assert.equal(events.filter((e) => e.type === 'batch').length, 1, 'no batch after stop');
  const pid = c.pid!;
  const exit = await c.dispose();
  assert.equal(exit?.expected, true);
  assert.equal(isAlive(pid), false);
});

test('killNow kills a busy child synchronously', async () => {
  const c = client();
  await c.request('backendInfo', {});
  const pid = c.pid!;
  const exited = new Promise<ExitInfo>((r) => c.onExit(r));
  c.killNow();
  const info = await exited;
  assert.equal(info.signal, 'SIGKILL');
  assert.equal(isAlive(pid), false);
});
