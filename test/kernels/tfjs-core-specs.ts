// tfjs-core's own jasmine specs (the suite tfjs-backend-wasm and tfjs-node run) against the torch
// backend. scripts/kernel-specs.js bundles this file with tfjs-core's ESM test sources, so the specs
// and our kernels share one tfjs-core. Every spec runs; a spec counts as not applicable only when
// it stopped on a kernel this backend does not register (named in the summary); the exclusions
// (./exclusions) each say why. Prints mocha-style counts for scripts/test.js.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util';
import { registerTorchBackend, torchKernelNames, torchLoadError, TORCH_BACKEND } from '../../src/trainer/backend/torch';
import { freeSavedTensorsDuringBackward } from '../../src/trainer/backend/free-saved';
import { EXCLUSIONS, exclusionOf } from './exclusions';

interface SpecResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

const ENV_NAME = 'test-torch';
/** A spec's name without the test environment jasmine_util puts after the describe name. */
const specName = (fullName: string) => fullName.replace(` ${ENV_NAME} {}`, '');
const NOT_REGISTERED = /Kernel '(\w+)' not registered for backend 'torch'/;

function main(): void {
  const reg = registerTorchBackend({});
  if (!reg) {
    // TAP, so scripts/test-counts.js counts it as a skip for a missing dependency (a failure under CI)
    console.log(`ok 1 - tfjs-core kernel specs on torch # SKIP missing dependency: the torch backend (${torchLoadError()})`);
    return;
  }
  freeSavedTensorsDuringBackward(); // as selectBackend does for the trainer: the gradient specs check it too
  const registered = new Set(torchKernelNames());
  const Jasmine = require('jasmine');
  const runner = new Jasmine();
  runner.loadConfig({ random: false });
  runner.exitOnCompletion = false;
  setTestEnvs([{ name: ENV_NAME, backendName: TORCH_BACKEND, flags: {}, isDataSync: true }]);

  const excludedHits = new Map<string, number>();
  runner.env.configure({
    specFilter: (spec: { getFullName(): string }) => {
      const why = exclusionOf(specName(spec.getFullName()));
      if (why) excludedHits.set(why.reason, (excludedHits.get(why.reason) ?? 0) + 1);
      return !why;
    },
  });

  let passed = 0;
  let jasminePending = 0; // specs tfjs-core itself marks pending (xit)
  const failed: string[] = [];
  const notApplicable = new Map<string, number>();
  runner.env.clearReporters();
  runner.env.addReporter({
    specDone: (r: SpecResult) => {
      if (r.status === 'passed') passed++;
      else if (r.status === 'pending') jasminePending++;
      else if (r.status === 'failed') {
        const messages = r.failedExpectations.map((e) => e.message).join('\n');
        const kernel = NOT_REGISTERED.exec(messages)?.[1];
        if (kernel && !registered.has(kernel)) notApplicable.set(kernel, (notApplicable.get(kernel) ?? 0) + 1);
        else failed.push(`${specName(r.fullName)}\n      ${messages.split('\n').slice(0, 3).join('\n      ')}`);
      }
    },
    jasmineDone: () => {
      const na = [...notApplicable].sort((a, b) => b[1] - a[1]);
      const naCount = na.reduce((s, [, n]) => s + n, 0);
      console.log(`\ntfjs-core ${require('@tensorflow/tfjs-core/package.json').version} specs on the torch backend (${registered.size} kernels registered)`);
      console.log(`not applicable: ${naCount} specs stopped on a kernel torch does not register: ${na.map(([k, n]) => `${k} ${n}`).join(', ')}`);
      const excluded = [...excludedHits.values()].reduce((s, n) => s + n, 0);
      console.log(`excluded: ${excluded} specs, ${EXCLUSIONS.length} rules:`);
      for (const e of EXCLUSIONS) console.log(`  - ${excludedHits.get(e.reason) ?? 0} × ${e.reason}\n      (${e.specs.join(' | ')})`);
      for (const f of failed) console.log(`  ✗ ${f}`);
      console.log(`\n  ${passed} passing`);
      console.log(`  ${failed.length} failing`);
      console.log(`  ${excluded + jasminePending} pending`);
      process.exitCode = failed.length ? 1 : 0;
    },
  });
  require('@tensorflow/tfjs-core/dist/tests');
  runner.execute();
}

main();
