#!/usr/bin/env node
// UI test of the packaged extension, as a user meets it: package the .vsix (as npm run package),
// install it into a fresh code-server, open the workbench in headless chromium and run each
// test/integration/ui/*.js against the page. Screenshots go to .test-output/ui/.
//
//   node scripts/vscode-host/run-ui.js [--vsix path/to/image-trainer.vsix] [--grep file-name-regex]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, OUTPUT_DIR, startServer, launchBrowser, keep, findFiles } = require('./host');
const { packageVsix: packageForThisPlatform } = require('../package-vsix');

/** The .vsix exactly as `npm run package` makes it, minus the build step (npm test has just built). */
function packageVsix(outDir) {
  const pkg = require(path.join(ROOT, 'package.json'));
  if (!fs.existsSync(path.join(ROOT, pkg.main))) throw new Error(`${pkg.main} not found. Fix: npm run build.`);
  const vsix = path.join(outDir, `${pkg.name}-${pkg.version}.vsix`);
  console.log(`$ node scripts/package-vsix.js --out ${path.relative(ROOT, vsix)}`);
  if (packageForThisPlatform(vsix) !== 0) throw new Error('packaging failed (vsce output above)');
  return vsix;
}

function writeWorkspaceSettings(workspace, settings) {
  const file = path.join(workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const old = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...old, ...settings }, null, 2));
}

(async () => {
  const outDir = path.join(OUTPUT_DIR, 'ui');
  const i = process.argv.indexOf('--vsix');
  const given = i > 0 ? path.resolve(process.argv[i + 1]) : undefined;
  for (const f of fs.existsSync(outDir) ? fs.readdirSync(outDir) : []) if (path.join(outDir, f) !== given) fs.rmSync(path.join(outDir, f), { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const vsix = given ?? packageVsix(outDir);
  console.log(`vsix: ${vsix} (${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB)`);
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'image-trainer-ui-ws-'));
  process.once('exit', () => fs.rmSync(workspace, { recursive: true, force: true }));
  const server = await startServer({ name: 'ui', installVsix: vsix, env: { IMAGE_TRAINER_WASM_THREADS: '1' } });
  const { browser, freshPage } = await launchBrowser();
  const errors = [];
  let failed = 0;
  try {
    const url = `http://${server.host}/?folder=${encodeURIComponent(workspace)}`;
    const g = process.argv.indexOf('--grep');
    const only = g > 0 ? new RegExp(process.argv[g + 1]) : /./;
    const tests = fs.readdirSync(path.join(ROOT, 'test', 'integration', 'ui')).filter((f) => f.endsWith('.js') && only.test(f)).sort();
    // each test file gets a fresh window (its own browser context, so fresh workspace state) on the same folder
    for (const f of tests) {
      const page = await freshPage();
      page.on('console', (m) => m.type() === 'error' && errors.push(`${f}: ${m.text()}`));
      const t = Date.now();
      try {
        const test = require(path.join(ROOT, 'test', 'integration', 'ui', f));
        // settings a test needs from the first moment (a settings file written after the window
        // opens is picked up asynchronously): test.workspaceSettings goes to .vscode/settings.json first
        if (test.workspaceSettings) writeWorkspaceSettings(workspace, test.workspaceSettings);
        await page.goto(url, { timeout: 120000 }); // 2 shared cores: the first load can take a while
        await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
        // the activity-bar entry is there once the extension's contributions are loaded
        await page.waitForSelector('.activitybar [aria-label*="Image Trainer"]', { timeout: 60000 });
        const ready = Date.now() - t;
        await test({ page, outDir, workspace });
        console.log(`  ✔ ${f} (${Date.now() - t} ms, workbench ready in ${ready} ms)`);
      } catch (err) {
        failed++;
        console.log(`  ✗ ${f}: ${err.stack || err}`);
        await page.screenshot({ path: path.join(outDir, `${path.basename(f, '.js')}-failure.png`) }).catch(() => undefined);
      } finally {
        // closing the window ends its extension host, whose deactivate() stops its trainer
        await page.context().close().catch(() => undefined);
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    keep(server.logFile, outDir, 'code-server.log');
    // the "Image Trainer" output channel and extension host logs of every window, for failures
    for (const f of findFiles(server.state, /Image Trainer\.log$|exthost\.log$/)) keep(f, path.join(outDir, 'logs'), `${path.basename(path.dirname(path.dirname(f)))}-${path.basename(path.dirname(f))}-${path.basename(f)}`);
    fs.writeFileSync(path.join(outDir, 'browser-errors.log'), errors.join('\n'));
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(server.state, { recursive: true, force: true });
  }
  console.log(failed ? `ui: ${failed} failed` : 'ui: passed');
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(`run-ui: ${e.message}`);
  process.exit(2);
});
