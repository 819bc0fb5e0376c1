// What the user downloads and waits for: the .vsix (files, JavaScript files, bytes, as `vsce ls`
// lists them) and the extension's activation time (require the package.json main, then activate()
// with a stand-in vscode API: module loading is what the bundle changes). Compare the bundled main
// (dist/extension.js) with the compiled one (out/src/extension/extension.js) in the same run.
//
//   npm run build && node out/bench/package.js [--vsix]   (--vsix also packages and reports its size)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Activation of `main` in a fresh Node: ms to require it and ms for activate(), median of `runs`. */
function activation(main: string, runs = 5): { requireMs: number; activateMs: number } {
  const probe = `
    const Module = require('module');
    const stub = () => new Proxy(function () {}, {
      get: (_t, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => '' : k === Symbol.iterator ? [][Symbol.iterator] : stub()),
      apply: () => stub(),
      construct: () => stub(),
      set: () => true,
    });
    // a plain object, as the real module is (a bundle copies its own keys)
    const vscode = Object.fromEntries(['commands', 'window', 'workspace', 'env', 'extensions', 'Disposable', 'EventEmitter', 'InputBoxValidationSeverity', 'ProgressLocation', 'QuickPickItemKind', 'StatusBarAlignment', 'ThemeIcon', 'TreeItem', 'TreeItemCollapsibleState', 'Uri', 'ViewColumn', 'ConfigurationTarget'].map((k) => [k, stub()]));
    const load = Module._load;
    Module._load = function (request, ...rest) { return request === 'vscode' ? vscode : load.call(this, request, ...rest); };
    const t0 = process.hrtime.bigint();
    const ext = require(${JSON.stringify(main)});
    const t1 = process.hrtime.bigint();
    const context = { subscriptions: [], asAbsolutePath: (p) => require('path').join(${JSON.stringify(ROOT)}, p), workspaceState: { get: () => undefined, update: async () => undefined }, extensionUri: stub() };
    ext.activate(context);
    const t2 = process.hrtime.bigint();
    console.log(JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6 }));
    process.exit(0);
  `;
  const samples: { requireMs: number; activateMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`activating ${main} failed: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout.trim().split('\n').pop() as string));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { requireMs: median(samples.map((s) => s.requireMs)), activateMs: median(samples.map((s) => s.activateMs)) };
}

/** scripts/package-vsix.js: the one way the .vsix is made (this platform's target and ignore list). */
const packaging = require(path.join(ROOT, 'scripts', 'package-vsix.js')) as { packagedFiles(): string[]; packageVsix(out?: string): number };

/** The files `vsce` would put in the .vsix for this platform. */
function packagedFiles(): { files: number; jsFiles: number; bytes: number } {
  const files = packaging.packagedFiles().filter((l) => fs.existsSync(path.join(ROOT, l)));
  return { files: files.length, jsFiles: files.filter((f) => /\.(c|m)?js$/.test(f)).length, bytes: files.reduce((n, f) => n + fs.statSync(path.join(ROOT, f)).size, 0) };
}

function vsixBytes(): number {
  const out = path.join(ROOT, '.test-output', 'bench-package.vsix');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (packaging.packageVsix(out) !== 0) throw new Error('vsce package failed (its output above)');
  const size = fs.statSync(out).size;
  fs.rmSync(out, { force: true });
  return size;
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
const mains = [...new Set([pkg.main, './out/src/extension/extension.js'])].filter((m) => fs.existsSync(path.join(ROOT, m)));
const report: Record<string, unknown> = { main: pkg.main, packaged: packagedFiles() };
for (const m of mains) report[`activation ${m}`] = activation(path.join(ROOT, m));
if (process.argv.includes('--vsix')) report.vsixBytes = vsixBytes();
if (process.argv.includes('--no-ls')) delete report.packaged;
console.log(JSON.stringify(report, null, 2));
