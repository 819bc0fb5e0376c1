#!/usr/bin/env node
// The `kernels` suite of scripts/test.js: bundles test/kernels/tfjs-core-specs.ts with tfjs-core's
// published ESM specs (esbuild; one tfjs-core for specs and backend), then runs the bundle.
const path = require('path');
const { spawnSync } = require('child_process');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const core = require.resolve('@tensorflow/tfjs-core/dist/index.js', { paths: [root] });
const outfile = path.join(root, 'out/test/kernels/tfjs-core-specs.bundle.js');

async function main() {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['test/kernels/tfjs-core-specs.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // the spec files are side-effect imports of tests.js; tfjs-core's package.json says they have none
    ignoreAnnotations: true,
    external: ['jasmine', 'jasmine-core', '*.node'],
    logLevel: 'warning',
    plugins: [{
      name: 'one-tfjs-core',
      setup(build) { build.onResolve({ filter: /^@tensorflow\/tfjs-core$/ }, () => ({ path: core })); },
    }],
  });
  const r = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

main().catch((err) => { console.error(err); process.exit(1); });
