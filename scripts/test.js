#!/usr/bin/env node
// The README's test command: build, lint, then every suite. `node scripts/test.js [unit|kernels|browser|integration ...]`
// runs only the named suites. Each suite is a separate process so one failure does not hide the others.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const requested = process.argv.slice(2);
const suites = {
  unit: () => run('node', ['--test', '--test-concurrency=1', ...testFiles('out/test/unit')], { counted: true, suite: 'unit' }),
  kernels: () => run('node', ['scripts/kernel-specs.js'], { counted: true, suite: 'kernels' }),
  browser: () => run('node', ['--test', '--test-concurrency=1', ...testFiles('out/test/browser')], { counted: true, suite: 'browser' }),
  integration: () => run('node', ['scripts/vscode-host/run-integration.js'], { counted: true, suite: 'integration' }),
};

// suites run by one script rather than a folder of test files: the file that must exist
const RUNNERS = { integration: 'scripts/vscode-host/run-integration.js', kernels: 'test/kernels/tfjs-core-specs.ts' };

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

const { CI, newTotals, countOutput, ranNothing, closing } = require('./test-counts');
const totals = newTotals();
const missingUnderCi = [];

function run(cmd, args, { counted = false, suite } = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  if (!counted) return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status === 0;
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['inherit', 'pipe', 'inherit'], env: process.env, maxBuffer: 1 << 30 });
  const out = r.stdout ? r.stdout.toString() : '';
  process.stdout.write(out);
  const { counts: mine, missing } = countOutput(out);
  for (const k of Object.keys(totals)) totals[k] += mine[k];
  let ok = r.status === 0;
  if (ranNothing(mine)) {
    console.log(`${suite}: no test ran: a suite with zero tests fails`);
    totals.failed += 1;
    ok = false;
  }
  if (CI && missing.length) {
    for (const reason of missing) console.log(`${suite}: CI installs every dependency, but a test skipped: missing dependency: ${reason}`);
    missingUnderCi.push(...missing);
    ok = false;
  }
  return ok;
}

const names = requested.length ? requested : Object.keys(suites);
for (const n of names) if (!suites[n]) { console.error(`unknown suite '${n}' (known: ${Object.keys(suites).join(', ')})`); process.exit(2); }
if (!run('npm', ['run', '--silent', 'build'])) process.exit(1);
if (!requested.length && !run('npm', ['run', '--silent', 'lint'])) process.exit(1);
const results = {};
for (const n of names) {
  const missingRunner = RUNNERS[n] ? !fs.existsSync(path.join(root, RUNNERS[n])) : testFiles(`out/test/${n}`).length === 0;
  if (missingRunner) {
    console.log(`${n}: no test files: a suite with zero tests fails`);
    totals.failed += 1;
    results[n] = 'failed';
    continue;
  }
  results[n] = suites[n]() ? 'passed' : 'failed';
}
const end = closing(totals, CI ? missingUnderCi.length : 0);
console.log('\nsuites: ' + Object.entries(results).map(([k, v]) => `${k} ${v}`).join(', '));
if (end.note) console.log(end.note);
console.log(end.line);
process.exit(Object.values(results).includes('failed') || end.failed > 0 ? 1 : 0);
