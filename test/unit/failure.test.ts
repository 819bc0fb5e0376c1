import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainFailure } from '../../src/extension/failure';

const ABORT = 'Aborted(). Build with -sASSERTIONS for more info.';

test('a wasm abort after an XNNPACK out-of-memory becomes "lower the batch size"', () => {
  const log = ['trainer started (pid 1)', 'XNN status for xnn_create_convolution2d_nhwc_f32 is not successful. Got status 6. Use -c dbg to see XNN logs.', 'Aborted()'];
  const e = explainFailure(ABORT, log);
  assert.match(e.message, /ran out of memory/);
  assert.match(e.fix!, /lower the batch size/);
  assert.equal(e.needsRestart, true);
});

test('another wasm abort still says to restart', () => {
  const e = explainFailure(ABORT, ['trainer started']);
  assert.match(e.message, /WebAssembly backend aborted/);
  assert.equal(e.needsRestart, true);
});

test('ordinary errors pass through with their fix', () => {
  assert.deepEqual(explainFailure('No dataset is open', [], 'Open a dataset first'), { message: 'No dataset is open', fix: 'Open a dataset first', needsRestart: false });
});
