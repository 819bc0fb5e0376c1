#!/usr/bin/env node
// `npm install` / `npm rebuild` step: builds the libtorch addon when a libtorch is found and never
// fails the install. Without one it says once which backend runs instead and how to get the fast one.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');

const here = __dirname;
const buildDir = path.join(here, 'build');
const FIX = 'sudo apt-get install libtorch-dev && npm rebuild image-trainer   (or: LIBTORCH=/path/to/libtorch npm rebuild image-trainer)';

function record(info) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(path.join(buildDir, 'libtorch.json'), JSON.stringify(info, null, 2) + '\n');
}

function nodeGyp() {
  // npm passes its bundled node-gyp to scripts; fall back to the one beside npm, then npx.
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    const beside = path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(beside)) return [process.execPath, beside];
    return ['npx', '--yes', 'node-gyp'];
  }
}

function main() {
  if (process.env.IMAGE_TRAINER_SKIP_TORCH) {
    console.log('image-trainer: IMAGE_TRAINER_SKIP_TORCH is set; not building the torch backend.');
    return;
  }
  const found = findLibtorch();
  if (found.error) {
    record({ error: found.error });
    console.log(`image-trainer: no libtorch found (${found.error}).\n` +
      `  The trainer will run on the wasm backend (about 0.16x PyTorch's speed on CPU).\n` +
      `  For the torch backend: ${FIX}`);
    return;
  }
  const env = { ...process.env };
  // Debian's nodejs headers are local: node-gyp need not download any.
  if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
  const [cmd, ...args] = nodeGyp();
  console.log(`image-trainer: building the torch backend against libtorch ${found.version ?? ''} (${found.source}: ${found.lib}) ...`);
  const r = spawnSync(cmd, [...args, 'rebuild', '-j', 'max'], { cwd: here, env, stdio: 'inherit' });
  if (r.status !== 0) {
    record({ ...found, error: `node-gyp exited with ${r.status ?? r.signal}` });
    console.log(`image-trainer: building the torch backend failed (see above); the trainer will run on the wasm backend.\n` +
      `  Fix the build, then: npm rebuild image-trainer   (a C++17 compiler is needed: apt-get install build-essential)`);
    return;
  }
  record(found);
  console.log('image-trainer: torch backend built.');
}

main();
