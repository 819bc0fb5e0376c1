// Skips for a missing dependency, said the one way scripts/test.js recognises: a test may skip when
// something only .ci/run installs (Fashion-MNIST, Chromium, python3-torch, libtorch) is absent on a
// developer's machine, but under CI=true scripts/test.js counts such a skip as a failure.

/** The skip reason (as node:test's `skip` option or t.skip()) when `available` is false, else false. */
export function requires(available: boolean, what: string, install: string): string | false {
  return available ? false : missingDependency(what, install);
}

export function missingDependency(what: string, install: string): string {
  return `missing dependency: ${what} (${install})`;
}
