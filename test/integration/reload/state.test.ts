// After the main suite, the workbench is reloaded on the same folder: what the extension kept in
// workspaceState (last dataset, learner settings, run history) must be there, and usable.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { ImageTrainerApi } from '../../../src/extension/extension';

suite('Image Trainer after a window reload', () => {
  let api: ImageTrainerApi;

  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<ImageTrainerApi>('image-trainer.image-trainer')!.activate();
  });

  test('the run history survived, with each run\'s final status and metrics', () => {
    const runs = api.service.runs.list();
    const seen = new Set(runs.map((r) => `${r.kind}:${r.status}`));
    for (const k of ['fit_one_cycle:completed', 'fit_one_cycle:stopped', 'fit_one_cycle:failed', 'lr_find:completed']) assert.ok(seen.has(k), `${k} in ${[...seen].join(', ')}`);
    const completed = runs.find((r) => r.kind === 'fit_one_cycle' && r.status === 'completed' && r.epochs === 2)!;
    assert.strictEqual(completed.epochRows.length, 2);
    const fineTune = runs.find((r) => r.kind === 'fine_tune')!;
    assert.ok(fineTune, 'the Fine Tune… run is kept');
    assert.deepStrictEqual([fineTune.status, fineTune.epochRows.map((r) => r.phase)], ['completed', ['frozen', 'unfrozen', 'unfrozen']]);
    assert.ok(api.service.runs.list().some((r) => r.lrFind?.lrs.length), 'the LR finder curve is kept');
    const view = api.views.runs();
    assert.strictEqual(view.length, runs.length);
    assert.ok(view.some((n) => n.contextValue === 'run.failed' && /SIGKILL/.test(n.tooltip ?? '')), 'the failed run keeps its reason');
    assert.strictEqual(api.service.running, false, 'no trainer started by a reload');
  });

  test('the last dataset and learner settings are offered again', async () => {
    const last = api.service.lastDataset;
    assert.ok(last && /\/pets$/.test(last.options.root));
    assert.deepStrictEqual([last.options.size, last.options.bs], [24, 4], 'at the size Change Image Size… set');
    assert.deepStrictEqual(api.service.lastLearnerConfig, { arch: 'resnet18', pretrained: 'none' });
    const reopen = api.views.dataset().find((n) => n.id === 'ds.last');
    assert.ok(reopen?.command, 'a "Reopen last dataset" item');
    const summary = (await vscode.commands.executeCommand(reopen.command.command, ...(reopen.command.arguments ?? []))) as { classes: string[] };
    assert.deepStrictEqual(summary.classes, ['blue_thing', 'red_thing']);
    assert.ok(api.views.dataset().some((n) => n.label === 'Classes (2)'));
    await api.service.dispose();
  });
});
