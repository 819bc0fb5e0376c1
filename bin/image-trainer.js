#!/usr/bin/env node
// `image-trainer` (npx image-trainer …): the compiled CLI under out/. In a source checkout where
// nothing is built yet (`npm install && npm run demo`), build once first.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const entry = path.join(root, 'out', 'src', 'trainer', 'cli', 'main.js');

if (!fs.existsSync(entry)) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (fs.existsSync(tsc) && fs.existsSync(path.join(root, 'tsconfig.json'))) {
    console.error('image-trainer: first run, building the project (npm run build)…');
    spawnSync(process.execPath, [tsc, '-p', root], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!fs.existsSync(entry)) {
    console.error(`image-trainer: error: the CLI is not built (${entry} is missing). Fix: run \`npm run build\` first`);
    process.exit(1);
  }
}
// jemalloc keeps a training step's freed memory in check, and must be there from the start (src/trainer/backend/allocator.ts)
const { relaunchOnJemalloc, stopWithLauncher } = require(path.join(root, 'out', 'src', 'trainer', 'backend', 'allocator.js'));
if (!relaunchOnJemalloc(process.argv)) {
  stopWithLauncher();
  require(entry).main(process.argv);
}
