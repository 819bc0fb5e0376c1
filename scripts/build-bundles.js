#!/usr/bin/env node
// Bundles what the .vsix runs, as VS Code asks (esbuild, like the webviews): the extension host
// entry (dist/extension.js) and, separately, the trainer child process (dist/trainer/child.js)
// with its data-loading worker (dist/trainer/worker.js, which the pool starts next to it).
// External, loaded from node_modules at run time: vscode; native modules (sharp, onnxruntime-node,
// tfjs-node, the torch addon under native/); and every @tensorflow package, because
// tfjs-backend-wasm finds its .wasm files next to itself and must share tfjs-core with the rest.
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const EXTERNAL = ['vscode', 'sharp', 'onnxruntime-node', '@tensorflow/*', 'trash', '*.node'];

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minify: process.env.BUNDLE_MINIFY !== '0',
  external: EXTERNAL,
  logLevel: 'warning',
  absWorkingDir: root,
};

esbuild.buildSync({ ...common, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' });
esbuild.buildSync({ ...common, entryPoints: { child: 'src/trainer/child.ts', worker: 'src/trainer/data/worker.ts' }, outdir: 'dist/trainer' });
