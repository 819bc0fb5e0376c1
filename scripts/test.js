#!/usr/bin/env node
// The README's test command: build, lint, then every suite. `node scripts/test.js [unit|browser|integration ...]`
// runs only the named suites. Each suite is a separate process so one failure does not hide the others.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const requested = process.argv.slice(2);
const suites = {
  unit: () => run('node', ['--test', '--test-concurrency=1', ...testFiles('out/test/unit')], { counted: true }),
  browser: () => run('node', ['--test', '--test-concurrency=1', ...testFiles('out/test/browser')], { counted: true }),
  integration: () => run('node', ['scripts/vscode-host/run-integration.js'], { counted: true }),
};

function testFiles(dir) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.js')) out.push(path.relative(root, p));
    }
  };
  walk(abs);
  return out.sort();
}

// Totals over every runner's own summary lines (node:test "# pass N", mocha "N passing", the UI
// runner's ✔/✗ lines), printed at the end as one "N passed, N failed" line.
const totals = { passed: 0, failed: 0 };
const COUNTERS = [
  [/^# pass (\d+)$/, 'passed'],
  [/^# fail (\d+)$/, 'failed'],
  [/^\s*(\d+) passing\b/, 'passed'],
  [/^\s*(\d+) failing\b/, 'failed'],
  [/^\s*✔ \S+\.js \(/, 'passed', 1],
  [/^\s*✗ \S+\.js: /, 'failed', 1],
];

function count(line) {
  for (const [re, key, fixed] of COUNTERS) {
    const m = re.exec(line);
    if (m) totals[key] += fixed ?? Number(m[1]);
  }
}

function run(cmd, args, { counted = false } = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  if (!counted) return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status === 0;
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['inherit', 'pipe', 'inherit'], env: process.env, maxBuffer: 1 << 30 });
  const out = r.stdout ? r.stdout.toString() : '';
  process.stdout.write(out);
  for (const line of out.split('\n')) count(line);
  return r.status === 0;
}

const names = requested.length ? requested : Object.keys(suites);
for (const n of names) if (!suites[n]) { console.error(`unknown suite '${n}' (known: ${Object.keys(suites).join(', ')})`); process.exit(2); }
if (!run('npm', ['run', '--silent', 'build'])) process.exit(1);
if (!requested.length && !run('npm', ['run', '--silent', 'lint'])) process.exit(1);
const results = {};
for (const n of names) {
  if (n === 'integration' && !fs.existsSync(path.join(root, 'scripts/vscode-host/run-integration.js'))) { results[n] = 'skipped'; continue; }
  if ((n === 'unit' || n === 'browser') && testFiles(`out/test/${n}`).length === 0) { results[n] = 'skipped'; continue; }
  results[n] = suites[n]() ? 'passed' : 'failed';
}
console.log('\nsuites: ' + Object.entries(results).map(([k, v]) => `${k} ${v}`).join(', '));
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(Object.values(results).includes('failed') ? 1 : 0);
