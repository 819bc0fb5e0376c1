// The same integration suites on desktop VS Code (Electron) via @vscode/test-electron, for machines
// that can download VS Code. (Here the default runner is scripts/vscode-host/run-integration.js.)
//
//   npx tsc -p . && node out/test/integration/electron-runner.js [main|untrusted|all]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function runSuite(suite: 'main' | 'untrusted'): Promise<void> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), `image-trainer-ws-${suite}-`));
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), `image-trainer-user-${suite}-`));
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'security.workspace.trust.enabled': suite === 'untrusted', 'security.workspace.trust.startupPrompt': 'never', 'workbench.startupEditor': 'none' }),
  );
  const outDir = path.join(ROOT, '.test-output', 'integration-electron', suite);
  fs.mkdirSync(outDir, { recursive: true });
  try {
    await runTests({
      version: process.env.VSCODE_VERSION || '1.100.3',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', ...(suite === 'untrusted' ? [] : ['--disable-workspace-trust'])],
      extensionTestsEnv: {
        IMAGE_TRAINER_SUITE: suite,
        IMAGE_TRAINER_TEST_OUTPUT: outDir,
        TEST_RESULTS_DIR: outDir,
        IMAGE_TRAINER_WASM_THREADS: process.env.IMAGE_TRAINER_WASM_THREADS || '1',
      },
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(userData, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'all';
  const suites = which === 'all' ? (['main', 'untrusted'] as const) : ([which] as ('main' | 'untrusted')[]);
  for (const s of suites) await runSuite(s);
}

main().catch((err) => {
  console.error(`electron-runner: ${(err as Error).message}`);
  process.exit(1);
});
