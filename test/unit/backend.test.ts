// Backend selection: best available backend, forced choices, clear errors, idempotence, and that
// a process using the threaded wasm backend still exits by itself.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackendInfo } from '../../src/protocol/events';
import { activeBackend, resolveBackendName, selectBackend, tf } from '../../src/trainer/backend';

const BACKEND_MODULE = path.resolve(__dirname, '../../src/trainer/backend');

function runChild(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', `const b = require(${JSON.stringify(BACKEND_MODULE)});\n${code}`], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('selectBackend picks the best backend present, reports why better ones were skipped, and is idempotent', async () => {
  const info = await selectBackend();
  BackendInfo.parse(info);
  assert.equal(info.fp16, false);
  assert.equal(tf.getBackend(), info.name);
  if (info.kind === 'wasm') {
    assert.equal(info.simd, true);
    assert.equal(info.threads, os.availableParallelism());
    assert.match(info.reason ?? '', /native-gpu: @tensorflow\/tfjs-node-gpu/);
  }
  assert.equal(await selectBackend(), info);
  assert.equal(await selectBackend({ prefer: info.kind }), info);
  assert.equal(activeBackend(), info);
  const other = info.kind === 'cpu' ? 'wasm' : 'cpu';
  await assert.rejects(selectBackend({ prefer: other }), (e: Error & { fix?: string }) =>
    new RegExp(`${info.kind} backend is already active.*cannot switch to ${other}`).test(e.message) && /start a new process/.test(e.fix ?? ''));
});

test('backend names: kinds and aliases resolve, unknown names list the choices', () => {
  assert.equal(resolveBackendName('gpu'), 'native-gpu');
  assert.equal(resolveBackendName('tensorflow'), 'native-cpu');
  assert.equal(resolveBackendName('WASM'), 'wasm');
  assert.throws(() => resolveBackendName('metal'), (e: Error & { fix?: string }) =>
    /Unknown backend 'metal'/.test(e.message) && /use one of torch-gpu, native-gpu, torch-cpu, native-cpu, wasm, cpu/.test(e.fix ?? ''));
});

const installed = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

test('forcing a backend that is not installed fails with a clear message', (t) => {
  // Only meaningful where the package is absent (tfjs-node-gpu cannot install here or on CI).
  if (installed('@tensorflow/tfjs-node-gpu')) return t.skip('@tensorflow/tfjs-node-gpu is installed: the not-installed path cannot run');
  const r = runChild(`b.selectBackend({ prefer: 'native-gpu' }).then(() => console.log('started'), (e) => { console.log(e.message + ' | fix: ' + e.fix); });`);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /started/, 'the backend must not start');
  assert.match(r.stdout, /The native-gpu backend is not available: @tensorflow\/tfjs-node-gpu is not installed.* \| fix: npm install @tensorflow\/tfjs-node-gpu/);
});

test('forced cpu works, and a program on the threaded wasm backend exits on its own', () => {
  const cpu = runChild(`b.selectBackend({ prefer: 'cpu' }).then((i) => console.log(JSON.stringify(i)));`);
  assert.equal(cpu.status, 0, cpu.stderr);
  assert.equal(JSON.parse(cpu.stdout).kind, 'cpu');
  assert.doesNotMatch(cpu.stderr + cpu.stdout, /Hi, looks like you are running/);
  const wasm = runChild(
    `b.selectBackend({ prefer: 'wasm' }).then((i) => { const x = b.tf.ones([1, 8, 8, 3]); const f = b.tf.ones([3, 3, 3, 4]);` +
      ` console.log(i.threads, b.tf.conv2d(x, f, 1, 'same').sum().dataSync()[0]); });`,
  );
  assert.equal(wasm.status, 0, `exit ${wasm.status} (null = killed after 60 s: pthreads kept the process alive) ${wasm.stderr}`);
  assert.match(wasm.stdout, /^\d+ 5808\n$/);
});
