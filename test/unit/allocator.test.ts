// The trainer's allocator (src/trainer/backend/allocator.ts): which environment starts a process
// on jemalloc, how a process tells which allocator it runs on, and, for real, that image-trainer
// and a child started with that environment run on it and can hand its retained memory back.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { allocatorEnv, findJemalloc, processAllocator, JEMALLOC_CONF, JEMALLOC_FIX } from '../../src/trainer/backend/allocator';
import { loadTorchAddon } from '../../src/trainer/backend/torch';
import { requires } from '../helpers/requires';

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const ROOT = path.resolve(__dirname, '../../..');
const jemalloc = findJemalloc();
const needsJemalloc = requires(jemalloc !== null, 'libjemalloc.so.2', JEMALLOC_FIX);
// CI builds the addon: there a missing one fails the test instead of skipping it
const needsAddon = loadTorchAddon() || process.env.CI ? false : 'the torch addon is not built';

test('the environment preloads jemalloc after the user\'s own preloads and keeps their MALLOC_CONF', () => {
  assert.deepEqual(allocatorEnv({}, LIB), { LD_PRELOAD: LIB, MALLOC_CONF: JEMALLOC_CONF });
  assert.deepEqual(allocatorEnv({ LD_PRELOAD: '/opt/a.so /opt/b.so', MALLOC_CONF: 'narenas:2' }, LIB), { LD_PRELOAD: `/opt/a.so:/opt/b.so:${LIB}` });
});

test('no jemalloc, IMAGE_TRAINER_ALLOCATOR=system, or jemalloc already preloaded: nothing to add', () => {
  assert.deepEqual(allocatorEnv({}, null), {});
  assert.deepEqual(allocatorEnv({ IMAGE_TRAINER_ALLOCATOR: 'system' }, LIB), {});
  assert.deepEqual(allocatorEnv({ LD_PRELOAD: '/usr/local/lib/libjemalloc.so.2' }, LIB), {});
});

test('a process knows its allocator from its memory map', () => {
  const maps = [
    '7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6',
    `7f0000002000-7f0000003000 r-xp 00001000 08:01 456 ${LIB}`,
  ].join('\n');
  assert.deepEqual(processAllocator(maps), { name: 'jemalloc', path: LIB });
  assert.equal(processAllocator(maps.split('\n')[0]).name, 'system');
  if (process.platform === 'linux') assert.match(processAllocator('', { IMAGE_TRAINER_ALLOCATOR: 'system' }).why!, /IMAGE_TRAINER_ALLOCATOR=system/);
});

test('image-trainer doctor runs on jemalloc and says so; IMAGE_TRAINER_ALLOCATOR=system keeps glibc', { skip: needsJemalloc, timeout: 120_000 }, () => {
  const doctor = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [path.join(ROOT, 'bin/image-trainer.js'), 'doctor'], { encoding: 'utf8', env: { ...process.env, ...env } });
  const on = doctor({});
  assert.equal(on.status, 0, on.stderr);
  assert.match(on.stdout, new RegExp(`allocator: jemalloc \\(${jemalloc!.replace(/\./g, '\\.')}\\)`));
  const off = doctor({ IMAGE_TRAINER_ALLOCATOR: 'system' });
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /allocator: system \(IMAGE_TRAINER_ALLOCATOR=system\)/);
});

test('image-trainer exits with its child\'s status, and a bad command still says what is wrong', { skip: needsJemalloc, timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/image-trainer.js'), 'no-such-command'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no-such-command/);
});

test('the torch addon hands retained memory back through the allocator the process runs on', { skip: needsJemalloc || needsAddon, timeout: 60_000 }, () => {
  const script = `const { loadTorchAddon } = require(${JSON.stringify(path.join(ROOT, 'out/src/trainer/backend/torch'))}); process.stdout.write(loadTorchAddon().releaseFreeMemory());`;
  const run = (env: Record<string, string>) => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  const je = run(allocatorEnv({}, jemalloc));
  assert.equal(je.status, 0, je.stderr);
  assert.equal(je.stdout, 'jemalloc');
  const glibc = run({ IMAGE_TRAINER_ALLOCATOR: 'system' });
  assert.equal(glibc.status, 0, glibc.stderr);
  assert.equal(glibc.stdout, 'glibc');
});
