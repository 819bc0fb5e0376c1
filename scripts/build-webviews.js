#!/usr/bin/env node
// Bundles webviews/*.ts(x) into media/webviews with esbuild (no CDN: everything local).
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'webviews');
const entries = fs.existsSync(srcDir)
  ? fs.readdirSync(srcDir).filter((f) => /^[a-z-]+\.ts$/.test(f)).map((f) => path.join(srcDir, f))
  : [];
if (!entries.length) process.exit(0);
require('esbuild').buildSync({
  entryPoints: entries,
  bundle: true,
  outdir: path.join(root, 'media', 'webviews'),
  format: 'iife',
  target: 'es2022',
  sourcemap: true,
  loader: { '.css': 'text', '.ttf': 'file' },
  logLevel: 'warning',
});
