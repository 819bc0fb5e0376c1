// What the .vsix ships from node_modules is what the bundles need at run time: .vscodeignore leaves
// out whole dependency chains that nothing requires once installed (a CLI's argument parsers, type
// packages, an install script's proxy agent), so this checks that trimming against the package
// graph and against a real load: every package reachable from the external dependencies through
// run-time edges keeps its package.json and entry file, and every file Node resolves while loading
// those dependencies is in the package.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

/** Dependency edges that exist in package.json files but are never followed by a require at run time (besides every @types/ package). */
const NOT_AT_RUN_TIME: Record<string, { deps: string[]; why: string }> = {
  '@tensorflow/tfjs': { deps: ['argparse', 'chalk', 'core-js', 'regenerator-runtime', 'yargs'], why: 'its converter CLI and browser polyfills; dist/tf.node.js requires none' },
  'onnxruntime-node': { deps: ['adm-zip', 'global-agent'], why: 'script/install.js only, skipped by .npmrc' },
};

interface Pkg {
  name: string;
  main?: string;
  type?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

let packaged = new Set<string>();

before(() => {
  const packaging = require(path.join(ROOT, 'scripts', 'package-vsix.js')) as { packagedFiles(): string[] };
  packaged = new Set(packaging.packagedFiles());
});

function readPkg(dir: string): Pkg {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Pkg;
}

/** Node's lookup of `name` from `fromDir` (node_modules folders upwards, up to the repository root). */
function packageDir(name: string, fromDir: string): string | null {
  for (let d = fromDir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', name, 'package.json'))) return path.join(d, 'node_modules', name);
    if (d === ROOT || d === path.dirname(d)) return null;
  }
}

/** The file `import`/`require` of the bare package name loads. */
function entryFile(dir: string, pkg: Pkg): string | null {
  const dot = (e: unknown): unknown => (e && typeof e === 'object' && '.' in (e as object) ? (e as Record<string, unknown>)['.'] : e);
  let target = dot(pkg.exports);
  while (target && typeof target === 'object') {
    const t = target as Record<string, unknown>;
    target = t.node ?? t.require ?? t.import ?? t.default;
  }
  const entry = typeof target === 'string' ? target : pkg.main ?? 'index.js';
  for (const candidate of [entry, `${entry}.js`, path.join(entry, 'index.js')]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  }
  return null;
}

/** The top-level dependencies the .vsix ships (the bundles keep them external), by name and folder. */
function shippedDependencies(): { name: string; dir: string; pkg: Pkg }[] {
  const top = readPkg(ROOT);
  return Object.keys({ ...top.dependencies, ...top.optionalDependencies }).flatMap((name) => {
    const dir = packageDir(name, ROOT);
    return dir && packaged.has(rel(path.join(dir, 'package.json'))) ? [{ name, dir, pkg: readPkg(dir) }] : [];
  });
}

/** The packages the .vsix loads from node_modules: the shipped top-level dependencies and what they need at run time. */
function runtimeClosure(): Map<string, Pkg> {
  const seen = new Map<string, Pkg>();
  const walk = (dir: string) => {
    if (seen.has(dir)) return;
    const pkg = readPkg(dir);
    seen.set(dir, pkg);
    const skipped = NOT_AT_RUN_TIME[pkg.name]?.deps ?? [];
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (skipped.includes(dep) || dep.startsWith('@types/')) continue;
      const d = packageDir(dep, dir);
      if (d) walk(d); // an optional dependency for another platform is not installed
    }
  };
  shippedDependencies().forEach(({ dir }) => walk(dir));
  return seen;
}

function rel(file: string): string {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

test('every package the shipped dependencies need at run time is in the .vsix with its package.json and entry file', () => {
  const closure = runtimeClosure();
  assert.ok(closure.size > 10, `the run-time dependency walk found only ${closure.size} packages`);
  const missing: string[] = [];
  for (const [dir, pkg] of closure) {
    if (!packaged.has(rel(path.join(dir, 'package.json')))) missing.push(`${rel(dir)}/package.json`);
    const entry = entryFile(dir, pkg);
    if (entry && !packaged.has(rel(entry))) missing.push(rel(entry));
  }
  assert.deepEqual(missing, [], `left out of the .vsix by .vscodeignore but needed at run time: ${missing.join(', ')}`);
});

test('every file Node resolves while loading the shipped CommonJS dependencies is in the .vsix', () => {
  // ESM-only packages (trash) are not required: the graph test covers them
  const roots = shippedDependencies().filter(({ pkg }) => pkg.type !== 'module').map(({ name }) => name);
  const probe = `
    const Module = require('module');
    const seen = new Set();
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (...args) { const f = resolve.apply(this, args); if (f.includes('node_modules')) seen.add(f); return f; };
    for (const name of ${JSON.stringify(roots)}) require(name);
    process.stdout.write('\\n' + JSON.stringify([...seen]));
  `;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `loading ${roots.join(', ')} failed: ${r.stderr}`);
  const loaded = (JSON.parse(r.stdout.trim().split('\n').pop() as string) as string[]).map(rel);
  assert.ok(loaded.length > 10, `only ${loaded.length} files loaded from ${roots.join(', ')}`);
  const missing = loaded.filter((f) => !packaged.has(f));
  assert.deepEqual(missing, [], `loaded at run time but not in the .vsix: ${missing.join(', ')}`);
});

test('the run-time exceptions name edges that exist', () => {
  for (const [name, { deps, why }] of Object.entries(NOT_AT_RUN_TIME)) {
    const dir = packageDir(name, ROOT);
    assert.ok(dir, `${name} (${why}) is no longer installed: drop it from NOT_AT_RUN_TIME and its lines in .vscodeignore`);
    const pkg = readPkg(dir);
    const declared = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    for (const dep of deps) assert.ok(declared.includes(dep), `${name} no longer depends on ${dep}: drop it from NOT_AT_RUN_TIME`);
  }
});

test("the .vsix carries this platform's native binaries and no other's", () => {
  const ours = `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/`;
  const onnxruntime = [...packaged].filter((f) => f.startsWith('node_modules/onnxruntime-node/bin/'));
  assert.ok(onnxruntime.includes(`${ours}onnxruntime_binding.node`), `no ${ours}onnxruntime_binding.node in the .vsix`);
  assert.deepEqual(onnxruntime.filter((f) => !f.startsWith(ours)), [], 'other platforms\' onnxruntime binaries are in the .vsix');
  const native = [...packaged].filter((f) => f.startsWith('native/'));
  const addon = 'native/build/Release/torch_backend.node';
  if (fs.existsSync(path.join(ROOT, addon))) assert.ok(native.includes(addon), `${addon} is built but not in the .vsix`);
  assert.deepEqual(native.filter((f) => f !== addon && f !== 'native/build/libtorch.json'), [], 'build intermediates of the torch addon are in the .vsix');
});
