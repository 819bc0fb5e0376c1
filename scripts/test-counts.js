// How scripts/test.js counts: totals over every runner's own summary lines (node:test "# pass N"
// … "# todo N", mocha "N passing/failing/pending", the UI runner's ✔/✗ lines), closed by one
// "N passed, N failed, N skipped" line. A cancelled test did not pass: it counts as failed; a todo
// counts as skipped; a skipped suite counts as one skip. Under CI=true (.ci/run installs every dependency) a test skipped because a
// dependency is missing (test/helpers/requires.ts marks those) counts as failed.
const CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

const COUNTERS = [
  [/^# pass (\d+)$/, 'passed'],
  [/^# fail (\d+)$/, 'failed'],
  [/^# cancelled (\d+)$/, 'cancelled'],
  // each skipped test or suite once (node's "# skipped N" leaves out skipped suites)
  [/^\s*ok \d+ - .* # SKIP\b/, 'skipped', 1],
  [/^# todo (\d+)$/, 'todo'],
  [/^\s*(\d+) passing\b/, 'passed'],
  [/^\s*(\d+) failing\b/, 'failed'],
  [/^\s*(\d+) pending\b/, 'skipped'],
  [/^\s*✔ \S+\.js \(/, 'passed', 1],
  [/^\s*✗ \S+\.js: /, 'failed', 1],
];
/** What test/helpers/requires.ts puts in front of a skip reason, as TAP prints it. */
const MISSING_DEPENDENCY = /# SKIP missing dependency: (.*)$/;

const newTotals = () => ({ passed: 0, failed: 0, skipped: 0, cancelled: 0, todo: 0 });

/** One runner's output → its counts and the reasons of its missing-dependency skips. */
function countOutput(text) {
  const counts = newTotals();
  const missing = [];
  for (const line of text.split('\n')) {
    for (const [re, key, fixed] of COUNTERS) {
      const m = re.exec(line);
      if (m) counts[key] += fixed ?? Number(m[1]);
    }
    const reason = MISSING_DEPENDENCY.exec(line)?.[1];
    if (reason) missing.push(reason);
  }
  return { counts, missing };
}

const ranNothing = (c) => c.passed + c.failed + c.cancelled + c.skipped + c.todo === 0;

/** The closing line; `missingAsFailed` skips (CI=true) move from skipped to failed. */
function closing(totals, missingAsFailed = 0) {
  const failed = totals.failed + totals.cancelled + missingAsFailed;
  const skipped = totals.skipped + totals.todo - missingAsFailed;
  const notes = [];
  if (totals.cancelled) notes.push(`${totals.cancelled} cancelled counted as failed`);
  if (totals.todo) notes.push(`${totals.todo} todo counted as skipped`);
  if (missingAsFailed) notes.push(`${missingAsFailed} skipped for a missing dependency counted as failed (CI=true)`);
  return { failed, skipped, note: notes.length ? `(${notes.join(', ')})` : '', line: `${totals.passed} passed, ${failed} failed, ${skipped} skipped` };
}

module.exports = { CI, newTotals, countOutput, ranNothing, closing };
