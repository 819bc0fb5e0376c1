#!/usr/bin/env node
// Finds a libtorch to build the addon against, in this order: $LIBTORCH (pytorch.org's libtorch
// folder, CPU or CUDA), the libtorch inside an installed Python `torch`, Debian's libtorch-dev.
// Used by binding.gyp (`--include`, `--libdir`, `--libs`, `--defines`) and at run time by doctor.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const HEADER = path.join('ATen', 'ATen.h');

function candidateFromRoot(root, source) {
  const include = path.join(root, 'include');
  const lib = path.join(root, 'lib');
  if (!fs.existsSync(path.join(include, HEADER)) || !fs.existsSync(path.join(lib, 'libc10.so'))) return null;
  return { source, root, include, lib };
}

function pythonTorchRoots() {
  const roots = [];
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    try {
      const out = execFileSync(py, ['-c', 'import torch,os;print(os.path.dirname(torch.__file__))'], {
        encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (out && !roots.includes(out)) roots.push(out);
    } catch {
      // no torch for this interpreter
    }
  }
  return roots;
}

/** The first usable libtorch, or { error } saying what was looked at. */
function findLibtorch() {
  const tried = [];
  if (process.env.LIBTORCH) {
    const c = candidateFromRoot(process.env.LIBTORCH, 'LIBTORCH');
    if (c) return finish(c);
    tried.push(`LIBTORCH=${process.env.LIBTORCH} has no include/${HEADER} and lib/libc10.so`);
  } else {
    tried.push('LIBTORCH is not set');
  }
  const roots = pythonTorchRoots();
  for (const root of roots) {
    const c = candidateFromRoot(root, 'python torch');
    if (c) return finish(c);
    tried.push(`python torch at ${root} has no include/ and lib/`);
  }
  if (!roots.length) tried.push('no Python torch importable');
  const sysInclude = '/usr/include';
  const sysLib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].find((d) =>
    fs.existsSync(path.join(d, 'libc10.so')),
  );
  if (fs.existsSync(path.join(sysInclude, HEADER)) && sysLib) {
    return finish({ source: 'libtorch-dev', root: '/usr', include: sysInclude, lib: sysLib });
  }
  tried.push('no /usr/include/ATen/ATen.h (Debian libtorch-dev)');
  return { error: tried.join('; ') };
}

function finish(c) {
  const has = (name) => fs.existsSync(path.join(c.lib, name));
  c.cuda = has('libtorch_cuda.so') || has('libc10_cuda.so');
  c.libs = ['c10', 'torch_cpu', ...(has('libtorch.so') ? ['torch'] : []), ...(c.cuda ? ['c10_cuda', 'torch_cuda'] : [])];
  c.cxx11abi = cxx11Abi(path.join(c.lib, 'libc10.so'));
  const version = path.join(c.include, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  const m = fs.existsSync(version) && /TORCH_VERSION\s+"([^"]+)"/.exec(fs.readFileSync(version, 'utf8'));
  c.version = m ? m[1] : versionFromSoname(path.join(c.lib, 'libc10.so'));
  return c;
}

function versionFromSoname(lib) {
  try {
    const m = /\.so\.(\d+(?:\.\d+)*)$/.exec(fs.realpathSync(lib));
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

// pip wheels before torch 2.7 use the pre-C++11 string ABI; building with the wrong one fails to link.
function cxx11Abi(lib) {
  try {
    const syms = execFileSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return /__cxx11/.test(syms) ? 1 : 0;
  } catch {
    return 1;
  }
}

module.exports = { findLibtorch };

if (require.main === module) {
  const c = findLibtorch();
  const flag = process.argv[2];
  if (c.error) {
    if (flag) {
      process.stderr.write(`libtorch not found: ${c.error}\n`);
      process.exit(1);
    }
    console.log(JSON.stringify(c));
    process.exit(0);
  }
  const system = c.source === 'libtorch-dev';
  switch (flag) {
    case '--include': console.log(system ? '' : c.include); break;
    case '--libdir': console.log(system ? '' : `-L${c.lib} -Wl,-rpath,${c.lib}`); break;
    case '--libs': console.log(c.libs.map((l) => `-l${l}`).join(' ')); break;
    case '--defines': console.log(`_GLIBCXX_USE_CXX11_ABI=${c.cxx11abi}`); break;
    default: console.log(JSON.stringify(c, null, 2));
  }
}
