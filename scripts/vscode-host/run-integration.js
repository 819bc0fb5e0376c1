#!/usr/bin/env node
// Runs the integration suites (mocha, tdd) inside a real VS Code extension host: code-server on
// 127.0.0.1 with fresh state, its workbench opened headless in Debian chromium with
// extensionDevelopmentPath/extensionTestsPath. Prints mocha's output, exits with the suites' code.
//
//   node scripts/vscode-host/run-integration.js [--out out] [--suite main|untrusted|ui|all] [--grep re]
//
// Suites: 'main' (trusted workspace), 'untrusted' (a second code-server with workspace trust on
// and the folder left untrusted) and 'ui' (run-ui.js: the packaged .vsix driven from the palette). Screenshots, server logs and results go to .test-output/integration/.
const fs = require('fs');
const os = require('os');
const path = require('path');
const util = require('util');
const { ROOT, OUTPUT_DIR, startServer, launchBrowser, keep, findFiles } = require('./host');

const WORKBENCH_NOISE = /^(Creating a socket|Resolving connection token|Resolved connection token|\[Service Worker\]|Updating additional builtin|ChatSessionStore|Creation of workbench contribution)|127\.0\.0\.1:9\b/;

function parseArgs(argv) {
  const a = { out: 'out', suite: 'all', grep: undefined, timeoutMs: 15 * 60 * 1000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--out') a.out = argv[++i];
    else if (k === '--suite') a.suite = argv[++i];
    else if (k === '--grep') a.grep = argv[++i];
    else if (k === '--timeout') a.timeoutMs = Number(argv[++i]) * 1000;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/**
 * The extension under test. With the default out/ that is the repo itself; with another compile
 * folder (out-ext while iterating) a staging folder whose out/ points at it, so package.json's
 * main (./out/src/extension/extension.js) resolves there.
 */
function devPath(outDir) {
  const abs = path.resolve(ROOT, outDir);
  if (!fs.existsSync(path.join(abs, 'src', 'extension', 'extension.js'))) {
    throw new Error(`${path.relative(ROOT, abs)}/src/extension/extension.js not found. Fix: npm run build (or npx tsc -p . --outDir ${outDir}).`);
  }
  if (abs === path.join(ROOT, 'out')) return ROOT;
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'image-trainer-dev-'));
  process.once('exit', () => fs.rmSync(stage, { recursive: true, force: true })); // links only: the targets stay
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(stage, 'package.json'));
  for (const [name, target] of [['out', abs], ['media', path.join(ROOT, 'media')], ['node_modules', path.join(ROOT, 'node_modules')]]) {
    fs.symlinkSync(target, path.join(stage, name));
  }
  return stage;
}

/**
 * One code-server + one browser page per suite. A suite runs one or more phases in the same page:
 * 'main' is followed by 'reload' (its own tests entry), which reloads the workbench on the same
 * folder to check what the extension kept in workspaceState.
 */
async function runSuite(suite, dev, testsDir, args) {
  const outDir = path.join(OUTPUT_DIR, 'integration', suite);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), `image-trainer-ws-${suite}-`));
  process.once('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
  const phases = suite === 'main' && !args.grep ? [['main', 'index.js'], ['reload', 'reload/index.js']] : [[suite, 'index.js']];
  const server = await startServer({
    name: suite,
    trust: suite === 'untrusted',
    env: {
      IMAGE_TRAINER_SUITE: suite,
      IMAGE_TRAINER_TEST_OUTPUT: outDir,
      TEST_RESULTS_DIR: outDir,
      ...(args.grep ? { MOCHA_GREP: args.grep } : {}),
      // one wasm thread per trainer: the CI machine has 2 cores shared with the workbench
      IMAGE_TRAINER_WASM_THREADS: process.env.IMAGE_TRAINER_WASM_THREADS || '1',
    },
  });
  console.log(`[${suite}] code-server on ${server.host} (ready in ${server.startedMs} ms), workspace ${workspace}`);
  const { browser, page } = await launchBrowser();
  const browserLog = fs.createWriteStream(path.join(outDir, 'browser-console.log'));
  let ok = true;
  try {
    let done = () => undefined;
    // VS Code's test protocol in the browser: the extension host's console and exit code arrive here
    await page.exposeFunction('codeAutomationLog', (_type, logArgs) => {
      const text = util.format(...(logArgs || []));
      // workbench chatter (sockets, the dead gallery URL) goes to the log file, mocha's output to stdout
      if (WORKBENCH_NOISE.test(text)) browserLog.write(`${text}\n`);
      else console.log(text);
    });
    await page.exposeFunction('codeAutomationExit', (c) => done(c));
    page.on('console', (m) => browserLog.write(`[${m.type()}] ${m.text()}\n`));
    for (const [phase, entry] of phases) {
      const payload = [
        ['extensionDevelopmentPath', `vscode-remote://${server.host}${dev}`],
        ['extensionTestsPath', `vscode-remote://${server.host}${path.join(testsDir, entry)}`],
      ];
      const url = `http://${server.host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
      const exited = new Promise((r) => (done = r));
      const t0 = Date.now();
      await page.goto(url);
      const timer = setTimeout(() => done('timeout'), args.timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      await page.screenshot({ path: path.join(outDir, `${phase}-final.png`) }).catch(() => undefined);
      console.log(`[${phase}] extension tests finished: exit=${code} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      if (code !== 0) {
        ok = false;
        break;
      }
    }
  } finally {
    browserLog.end();
    await browser.close().catch(() => undefined);
    await server.stop();
    keep(server.logFile, outDir, 'code-server.log');
    const exthost = findFiles(server.state, /exthost\.log$|remoteexthost\.log$/);
    for (const f of exthost) keep(f, outDir, path.basename(f));
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(server.state, { recursive: true, force: true });
  }
  return ok;
}

(async () => {
  const args = parseArgs(process.argv.slice(2));
  const dev = devPath(args.out);
  const testsDir = path.join(path.resolve(ROOT, args.out), 'test', 'integration');
  if (!fs.existsSync(path.join(testsDir, 'index.js'))) throw new Error(`${testsDir}/index.js not found. Fix: npm run build.`);
  const suites = args.suite === 'all' ? ['main', 'untrusted', 'ui'] : [args.suite];
  const results = {};
  for (const s of suites) {
    if (s === 'ui') {
      // the packaged .vsix installed into code-server and driven through the browser
      if (args.out !== 'out') throw new Error('the ui suite packages out/: run it without --out');
      results.ui = require('child_process').spawnSync(process.execPath, [path.join(__dirname, 'run-ui.js')], { stdio: 'inherit' }).status === 0;
    } else results[s] = await runSuite(s, dev, testsDir, args);
  }
  console.log(`integration: ${Object.entries(results).map(([k, v]) => `${k} ${v ? 'passed' : 'FAILED'}`).join(', ')}`);
  process.exit(Object.values(results).every(Boolean) ? 0 : 1);
})().catch((e) => {
  console.error(`run-integration: ${e.message}`);
  process.exit(2);
});
