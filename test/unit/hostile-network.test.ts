// Slow and lying weights servers, all on 127.0.0.1: each case asserts the download ends in bounded
// time with a clear error, that nothing invalid is cached, that a .part which could not grow is
// removed, and that a download lock held by an unrelated live process does not block forever.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { ensurePretrainedFile, readRecordedSha256 } from '../../src/trainer/models/pretrained';
import { createHash } from 'node:crypto';
import { writeSafetensors } from '../../src/trainer/io/safetensors';
import { listenLocal, type LocalServer } from '../helpers/local-server';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-network-'));
const FAST = { connectMs: 2000, idleMs: 400, totalMs: 3000, staleLockMs: 400, lockWaitMs: 5000 };

let local: LocalServer | undefined;
let base = '';
let valid: Buffer;
const open = new Set<import('node:net').Socket>();

const routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
  '/silent': () => undefined, // accepts, never answers
  '/stall-mid-body': (_req, res) => {
    res.writeHead(200, { 'content-length': 100_000 });
    res.write(Buffer.alloc(1000)); // then nothing, connection kept open
  },
  '/drip': (_req, res) => {
    res.writeHead(200, { 'content-length': 10_000_000 });
    const t = setInterval(() => res.write(Buffer.alloc(1)), 100);
    res.on('close', () => clearInterval(t));
  },
  '/html': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Sign in</title>');
  },
  '/lying-length': (_req, res) => {
    res.writeHead(200, { 'content-length': 50_000 });
    res.write(Buffer.alloc(10), () => res.socket?.destroy());
  },
  '/range-refused': (req, res) => {
    res.writeHead(req.headers.range ? 500 : 200);
    res.end(req.headers.range ? 'no ranges' : valid);
  },
  '/redirect-loop': (_req, res) => {
    res.writeHead(302, { location: '/redirect-loop' });
    res.end();
  },
  '/valid': (_req, res) => {
    res.writeHead(200, { 'content-length': valid.length });
    res.end(valid);
  },
};

before(async () => {
  const f = path.join(TMP, 'valid.safetensors');
  await writeSafetensors(f, new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]), {});
  valid = fs.readFileSync(f);
  local = await listenLocal((req, res) => (routes[req.url ?? ''] ?? ((_q, r) => r.writeHead(404).end()))(req, res));
  local.server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  base = local.origin;
});
after(() => {
  for (const s of open) s.destroy();
  void local?.close();
  fs.rmSync(TMP, { recursive: true, force: true });
});

let n = 0;
function cache(): string {
  return path.join(TMP, `cache-${n++}`);
}

const failing: [string, string, RegExp, 'kept' | 'removed' | 'either'][] = [
  ['a server that accepts and never answers (idle timeout)', '/silent', /no response for 0\.4 s/, 'removed'],
  ['a server that stalls mid-body (idle timeout; the grown .part is kept for a resume)', '/stall-mid-body', /no data for 0\.4 s/, 'kept'],
  ['a server that drips one byte per 100 ms (total timeout)', '/drip', /longer than 3 s/, 'kept'],
  ['a lying content-length', '/lying-length', /connection closed after (0|10) of 50000 bytes/, 'either'],
  ['a redirect loop', '/redirect-loop', /too many redirects/, 'removed'],
];

for (const [name, route, expected, part] of failing) {
  test(`download: ${name} ends with a clear error, nothing cached`, async () => {
    const dir = cache();
    const t0 = Date.now();
    await assert.rejects(ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: base + route, sha256: null }, timeouts: FAST }), (e: Error) => {
      assert.match(e.message, expected);
      assert.match(e.message, /--pretrained none/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    const target = path.join(dir, 'resnet34.tv_in1k.safetensors');
    assert.ok(!fs.existsSync(target), 'something was cached');
    if (part !== 'either') assert.equal(fs.existsSync(`${target}.part`), part === 'kept', `.part should be ${part}`);
    assert.ok(!fs.existsSync(`${target}.lock`), 'the lock was left behind');
  });
}

test('download: an unpinned download that is not safetensors (an HTML page) is never cached', async () => {
  const dir = cache();
  await assert.rejects(ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: `${base}/html`, sha256: null }, timeouts: FAST }), /not a valid \.safetensors file.*not cached/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('download: a .part that cannot grow (the server refuses the resume) is removed, the next try starts afresh', async () => {
  const dir = cache();
  const part = path.join(dir, 'resnet34.tv_in1k.safetensors.part');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(part, 'stale bytes from an old attempt');
  await assert.rejects(ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: `${base}/range-refused`, sha256: null }, timeouts: FAST }), /HTTP 500/);
  assert.ok(!fs.existsSync(part));
  const file = await ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: `${base}/range-refused`, sha256: null }, timeouts: FAST });
  assert.deepEqual(fs.readFileSync(file), valid);
});

/** A fresh cache folder whose resnet34 download lock names a live process that is no download (a sleeping node), while `body` runs. */
async function withLockHeldByLiveProcess(body: (dir: string, lock: string) => Promise<void>): Promise<void> {
  const dir = cache();
  fs.mkdirSync(dir, { recursive: true });
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const lock = path.join(dir, 'resnet34.tv_in1k.safetensors.lock');
    fs.writeFileSync(lock, String(sleeper.pid));
    await body(dir, lock);
  } finally {
    sleeper.kill();
  }
}

test('download lock: a lock held by an unrelated live process is taken over once it shows no progress', () =>
  withLockHeldByLiveProcess(async (dir) => {
    const logs: string[] = [];
    const file = await ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: `${base}/valid`, sha256: null }, timeouts: FAST, onLog: (m) => logs.push(m) });
    assert.deepEqual(fs.readFileSync(file), valid);
    assert.ok(logs.some((l) => /Taking over the download lock .* made no progress/.test(l)), logs.join('\n'));
  }));

test('download lock: waiting on a live lock ends after lockWaitMs with the lock file named', () =>
  withLockHeldByLiveProcess(async (dir, lock) => {
    await assert.rejects(
      ensurePretrainedFile('resnet34', { cacheDir: dir, source: { url: `${base}/valid`, sha256: null }, timeouts: { ...FAST, staleLockMs: 60_000, lockWaitMs: 600 } }),
      (e: Error & { file?: string }) => e.file === lock && /Gave up waiting for process/.test(e.message) && e.message.includes(`delete ${lock}`),
    );
  }));

test('resnet34 (unpinned): the first verified download records its SHA-256; a cached file changed afterwards is refused, not loaded', async () => {
  const dir = path.join(TMP, 'tofu');
  const source = { url: `${base}/valid`, sha256: null };
  const file = await ensurePretrainedFile('resnet34', { cacheDir: dir, source, timeouts: FAST });
  const sha = createHash('sha256').update(valid).digest('hex');
  assert.equal(readRecordedSha256(file), sha, 'the hash of the bytes served is recorded');
  assert.equal(fs.readFileSync(`${file}.sha256`, 'utf8'), `${sha}\n`);
  assert.equal(await ensurePretrainedFile('resnet34', { cacheDir: dir, source, timeouts: FAST }), file, 'an unchanged cache is used');
  const swapped = Buffer.from(valid);
  swapped[swapped.length - 1] ^= 1; // still parses as safetensors: only the hash can tell
  fs.writeFileSync(file, swapped);
  await assert.rejects(ensurePretrainedFile('resnet34', { cacheDir: dir, source, timeouts: FAST }), (e: Error & { file?: string; fix?: string }) => {
    assert.match(e.message, new RegExp(`have SHA-256 [0-9a-f]{64}, expected ${sha} \\(recorded in .*\\.sha256`));
    assert.equal(e.file, file);
    assert.match(e.fix ?? '', /Delete the file to download it again/);
    return true;
  });
});
