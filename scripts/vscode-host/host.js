// Shared by run-integration.js and run-ui.js: start a real VS Code (code-server, installed by
// setup.sh) on 127.0.0.1 with fresh state, and open its workbench in headless Debian chromium.
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const http = require('http');

const ROOT = path.resolve(__dirname, '..', '..');
const CS_VERSION = '4.100.3';
const HOST_DIR = process.env.VSCODE_HOST_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'image-trainer', 'vscode-host');
const ENTRY = path.join(HOST_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUTPUT_DIR = path.join(ROOT, '.test-output');

function requireInstalled() {
  if (!fs.existsSync(path.join(HOST_DIR, `.installed-${CS_VERSION}`)) || !fs.existsSync(ENTRY)) {
    throw new Error(`code-server ${CS_VERSION} is not installed in ${HOST_DIR}. Fix: run bash scripts/vscode-host/setup.sh (needs npm registry access once).`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}. Fix: apt-get install chromium (see .ci/run).`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts code-server with its own user-data, extensions and XDG dirs.
 * opts: { name, trust (bool: workspace trust enabled, default false), env (extension host env),
 *         installVsix (path), settings (extra user settings) }
 */
async function startServer(opts = {}) {
  requireInstalled();
  const name = opts.name || 'run';
  const state = fs.mkdtempSync(path.join(os.tmpdir(), `image-trainer-vscode-${name}-`));
  const userDir = path.join(state, 'user');
  const extDir = path.join(state, 'extensions');
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.mkdirSync(extDir, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'security.workspace.trust.enabled': !!opts.trust,
    // with trust on, never ask: the folder simply opens in Restricted Mode
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
    ...opts.settings,
  };
  fs.writeFileSync(path.join(userDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const port = await freePort();
  const config = path.join(state, 'config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = {
    ...process.env,
    // keep code-server's logs/heartbeat out of $HOME
    XDG_DATA_HOME: path.join(state, 'xdg-data'),
    XDG_CONFIG_HOME: path.join(state, 'xdg-config'),
    // gallery calls fail fast instead of DNS lookups
    EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9/none' }),
    // the web workbench ignores extensionEnvironment: the extension host inherits these instead
    ...opts.env,
  };
  const base = ['--config', config, '--user-data-dir', userDir, '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check'];
  if (opts.installVsix) {
    const r = require('child_process').spawnSync(process.execPath, [ENTRY, ...base, '--install-extension', opts.installVsix], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`installing ${opts.installVsix} failed:\n${r.stdout}\n${r.stderr}`);
    process.stdout.write(r.stdout);
  }
  const args = [...base];
  if (!opts.trust) args.push('--disable-workspace-trust');
  const logFile = path.join(state, 'server.log');
  const log = fs.openSync(logFile, 'w');
  // detached: its own process group, so stop() also ends the extension host and the trainer it forked
  const proc = spawn(process.execPath, [ENTRY, ...args], { env, stdio: ['ignore', log, log], detached: true });
  const t0 = Date.now();
  let exited = false;
  proc.once('exit', () => (exited = true));
  while (!(await healthy(port))) {
    if (exited) throw new Error(`code-server exited during startup; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() - t0 > 60000) throw new Error(`code-server did not answer /healthz within 60 s; log: ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 5000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    fs.closeSync(log);
  };
  // if the runner dies early (signal, broken pipe): no code-server, extension host or trainer left behind
  const cleanup = () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    fs.rmSync(state, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => process.exit(130));
  return { port, host: `127.0.0.1:${port}`, state, logFile, userDir, extDir, proc, stop, startedMs: Date.now() - t0 };
}

async function launchBrowser() {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch {
    throw new Error('playwright-core is missing. Fix: npm ci (it is a devDependency).');
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  /** A page in a fresh browser context: the web workbench keeps its state in IndexedDB, so this is a fresh window state too. */
  const freshPage = async () => (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  return { browser, page, freshPage };
}

/** Copies a file into the run's output folder (keeps logs for CI artifacts). */
function keep(file, outDir, as) {
  try {
    fs.mkdirSync(outDir, { recursive: true });
    fs.copyFileSync(file, path.join(outDir, as || path.basename(file)));
  } catch {
    /* best effort */
  }
}

/** Every file under dir whose name matches re (log files code-server scatters over its state folder). */
function findFiles(dir, re, out = []) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, re, out);
    else if (re.test(e.name)) out.push(p);
  }
  return out;
}

module.exports = { ROOT, HOST_DIR, OUTPUT_DIR, startServer, launchBrowser, keep, findFiles, requireInstalled };
