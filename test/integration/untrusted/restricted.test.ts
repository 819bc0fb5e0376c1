// Runs in a code-server with workspace trust enabled and this folder NOT trusted (Restricted Mode).
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { ImageTrainerApi } from '../../../src/extension/extension';

const EXT_ID = 'image-trainer.image-trainer';
const GATED = ['createLearner', 'lrFind', 'fitOneCycle', 'freeze', 'unfreeze', 'freezeTo', 'interpret', 'showResults', 'saveModel', 'loadModel', 'exportModel', 'predictImage'];

suite('Image Trainer in Restricted Mode', () => {
  let api: ImageTrainerApi;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<ImageTrainerApi>(EXT_ID)!.activate();
  });

  test('the workspace is untrusted and the extension still activates (limited support)', () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
    const pkg = vscode.extensions.getExtension(EXT_ID)!.packageJSON;
    assert.strictEqual(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.ok(pkg.capabilities.untrustedWorkspaces.description.length > 20);
  });

  test('training and prediction commands are disabled by enablement isWorkspaceTrusted', () => {
    const cmds = vscode.extensions.getExtension(EXT_ID)!.packageJSON.contributes.commands as { command: string; enablement?: string }[];
    for (const id of GATED) {
      const c = cmds.find((x) => x.command === `imageTrainer.${id}`);
      assert.ok(c?.enablement?.includes('isWorkspaceTrusted'), `${id} enablement: ${c?.enablement}`);
    }
  });

  test('run programmatically, they refuse with an explanation and start no trainer', async () => {
    for (const [id, args] of [
      ['createLearner', { arch: 'resnet18', pretrained: 'none' }],
      ['fitOneCycle', { epochs: 1, maxLr: 1e-3 }],
      ['lrFind', {}],
      ['predictImage', { files: ['/tmp/x.png'] }],
    ] as const) {
      const res = await vscode.commands.executeCommand(`imageTrainer.${id}`, args);
      assert.deepStrictEqual(res, { refused: 'untrusted' }, id);
    }
    assert.ok(api.errors.every((e) => /Restricted Mode/.test(e)));
    assert.match(api.errors[0], /trust the folder to enable it/);
    assert.strictEqual(api.service.running, false, 'no trainer process in Restricted Mode');
  });
});
