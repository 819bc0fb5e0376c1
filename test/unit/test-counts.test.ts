// scripts/test-counts.js: the closing "N passed, N failed, N skipped" line of npm test, and what
// counts as a failure (cancelled tests; under CI=true, skips for a missing dependency).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';

const counts = require(path.resolve(__dirname, '../../../scripts/test-counts.js')) as {
  newTotals(): Record<'passed' | 'failed' | 'skipped' | 'cancelled' | 'todo', number>;
  countOutput(text: string): { counts: Record<string, number>; missing: string[] };
  ranNothing(c: Record<string, number>): boolean;
  closing(t: Record<string, number>, missingAsFailed?: number): { failed: number; skipped: number; note: string; line: string };
};

const nodeTap = [
  'ok 1 - s # SKIP missing dependency: Fashion-MNIST (apt-get install dataset-fashion-mnist)',
  'ok 2 - c # SKIP not on this platform',
  '    ok 1 - nested # SKIP missing dependency: /usr/bin/chromium (apt-get install chromium)',
  'ok 3 - d',
  'not ok 4 - e',
  'ok 5 - f # TODO',
  '# tests 5',
  '# pass 2',
  '# fail 1',
  '# cancelled 1',
  '# skipped 2',
  '# todo 1',
].join('\n');

test('node:test output: passed, failed, cancelled, todo, and every skipped test or suite once', () => {
  const { counts: c, missing } = counts.countOutput(nodeTap);
  assert.deepEqual(c, { passed: 2, failed: 1, skipped: 3, cancelled: 1, todo: 1 });
  assert.deepEqual(missing, ['Fashion-MNIST (apt-get install dataset-fashion-mnist)', '/usr/bin/chromium (apt-get install chromium)']);
});

test('mocha and the UI runner are counted too', () => {
  const { counts: c } = counts.countOutput(['  12 passing (3s)', '  1 failing', '  2 pending', '  ✔ 1-sidebar.js (900 ms, workbench ready in 2 ms)', '  ✗ 2-open.js: Error: x'].join('\n'));
  assert.deepEqual(c, { passed: 13, failed: 2, skipped: 2, cancelled: 0, todo: 0 });
});

test('the closing line: cancelled counts as failed, todo as skipped; under CI missing-dependency skips fail', () => {
  const { counts: c } = counts.countOutput(nodeTap);
  assert.equal(counts.closing(c).line, '2 passed, 2 failed, 4 skipped');
  const ci = counts.closing(c, 2);
  assert.equal(ci.line, '2 passed, 4 failed, 2 skipped');
  assert.match(ci.note, /1 cancelled counted as failed, 1 todo counted as skipped, 2 skipped for a missing dependency counted as failed \(CI=true\)/);
  assert.match(ci.line, /^\d+ passed, \d+ failed, \d+ skipped$/);
});

test('a suite that ran nothing is caught', () => {
  assert.equal(counts.ranNothing(counts.countOutput('TAP version 13\n# tests 0\n# pass 0\n').counts), true);
  assert.equal(counts.ranNothing(counts.countOutput(nodeTap).counts), false);
});
