#!/usr/bin/env node
// Bundles webviews/*.ts into media/webviews with esbuild (no CDN: everything local).
// Each panel entry gives <name>.js and <name>.css (its CSS imports, uPlot's included);
// theme-fallback.css is for plain pages only (VS Code sets the --vscode-* variables itself);
// codicons are copied as-is because @vscode-elements' icons look for that stylesheet by id.
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'webviews');
const outDir = path.join(root, 'media', 'webviews');
const entries = fs.existsSync(srcDir)
  ? fs.readdirSync(srcDir).filter((f) => /^[a-z-]+\.(ts|css)$/.test(f)).map((f) => path.join(srcDir, f))
  : [];
if (!entries.length) process.exit(0);
require('esbuild').buildSync({
  entryPoints: entries,
  bundle: true,
  outdir: outDir,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: process.env.WEBVIEWS_MINIFY !== '0',
  sourcemap: true,
  loader: { '.ttf': 'file' },
  logLevel: 'warning',
});
const codicons = path.join(path.dirname(require.resolve('@vscode/codicons/package.json')), 'dist');
fs.mkdirSync(path.join(outDir, 'codicons'), { recursive: true });
for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(codicons, f), path.join(outDir, 'codicons', f));
