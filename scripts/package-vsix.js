#!/usr/bin/env node
// Packages the .vsix for the platform this machine is (sharp's libvips and the torch addon in
// node_modules and native/build are this machine's): `vsce package --target <this platform>` with
// .vscodeignore plus the other platforms' onnxruntime binaries, which onnxruntime-node installs for
// every platform (about 250 MB of a linux-x64 package's 337 MB).
//
//   node scripts/package-vsix.js [--out file.vsix] [--ls]   (--ls lists the files instead, as `vsce ls`)
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const ONNXRUNTIME_BIN = path.join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6');

/** VS Code's name for this machine's platform (https://code.visualstudio.com/api/working-with-extensions/publishing-extension#platformspecific-extensions). */
function thisTarget() {
  const musl = process.platform === 'linux' && !process.report?.getReport()?.header?.glibcVersionRuntime;
  return `${musl ? 'alpine' : process.platform}-${process.arch === 'arm' ? 'armhf' : process.arch}`;
}

/** .vscodeignore plus every onnxruntime binary folder that is not for `target`; written to a temporary file. */
function ignoreFileFor(target) {
  const [platform, arch] = target.replace(/^alpine-/, 'linux-').split('-');
  const lines = [fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), `# other platforms than ${target} (scripts/package-vsix.js)`];
  const bin = path.join(ROOT, ONNXRUNTIME_BIN);
  for (const p of fs.existsSync(bin) ? fs.readdirSync(bin) : [])
    for (const a of fs.readdirSync(path.join(bin, p))) if (p !== platform || a !== arch) lines.push(`${ONNXRUNTIME_BIN}/${p}/${a}/**`.split(path.sep).join('/'));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vscodeignore-')), '.vscodeignore');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Runs `vsce <args>` with this platform's ignore file, removed afterwards. */
function vsce(args, opts) {
  const target = thisTarget();
  const ignore = ignoreFileFor(target);
  try {
    const common = ['--ignoreFile', ignore, ...(args[0] === 'package' ? ['--target', target] : [])];
    return spawnSync(process.execPath, [VSCE, ...args, ...common], { cwd: ROOT, ...opts });
  } finally {
    fs.rmSync(path.dirname(ignore), { recursive: true, force: true });
  }
}

/** The files the .vsix for this platform holds, relative to the repository root. */
function packagedFiles() {
  const r = vsce(['ls'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`vsce ls failed: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Writes the .vsix (to `out`, else vsce's default name); returns vsce's exit status. */
function packageVsix(out) {
  const args = ['package', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', ...(out ? ['--out', out] : [])];
  return vsce(args, { stdio: 'inherit' }).status ?? 1;
}

module.exports = { thisTarget, ignoreFileFor, packagedFiles, packageVsix };

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv.includes('--ls')) {
    console.log(packagedFiles().join('\n'));
  } else {
    const i = argv.indexOf('--out');
    process.exit(packageVsix(i >= 0 ? path.resolve(argv[i + 1]) : undefined));
  }
}
