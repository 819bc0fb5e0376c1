// Mocha entry the VS Code extension host calls (extensionTestsPath). IMAGE_TRAINER_SUITE picks the
// folder: 'main' (trusted workspace) or 'untrusted' (Restricted Mode); reload/index.js runs reload/.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const suite = process.env.IMAGE_TRAINER_SUITE === 'untrusted' ? 'untrusted' : 'suite';
  return runFolder(path.join(__dirname, suite));
}

/** Runs every *.test.js in `dir` (name order); results go to $TEST_RESULTS_DIR/<folder>-results.json. */
export function runFolder(dir: string): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000, reporter: 'spec', grep: process.env.MOCHA_GREP });
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(dir, f));
  const resultsFile = process.env.TEST_RESULTS_DIR ? path.join(process.env.TEST_RESULTS_DIR, `${path.basename(dir)}-results.json`) : undefined;
  return new Promise((resolve, reject) => {
    const results = { passes: [] as string[], failures: [] as { title: string; error: string }[], start: Date.now(), end: 0 };
    const runner = mocha.run((failures) => {
      results.end = Date.now();
      if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));
      if (failures > 0) reject(new Error(`${failures} integration tests failed`));
      else resolve();
    });
    runner.on('pass', (t) => results.passes.push(t.fullTitle()));
    runner.on('fail', (t, err) => results.failures.push({ title: t.fullTitle(), error: String((err as Error)?.stack ?? err) }));
  });
}
