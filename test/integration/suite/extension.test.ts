// Runs inside a real VS Code extension host (code-server) with the real `vscode` API and the real
// trainer child process, on image files this test writes into the workspace.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ImageTrainerApi } from '../../../src/extension/extension';
import { BackendInfo, type TrainerEvent } from '../../../src/protocol/events';
import type { ResultOf } from '../../../src/protocol/requests';
import type { EpochRecord } from '../../../src/protocol/runs';
import { writePetsLikeDataset } from '../../helpers/images';
import { isAlive } from '../../helpers/process';

const EXT_ID = 'image-trainer.image-trainer';
const PATTERN = '/([^/]+)_\\d+\\.png$';

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const labels = (nodes: { label: string; description?: string }[]) => nodes.map((n) => `${n.label}: ${n.description ?? ''}`);

/**
 * Answers the extension's input boxes as a user typing would: each answer is run through the
 * box's own validateInput first (a value it refuses fails the test), undefined is Escape. Every
 * box's options are kept; `refused(i, text)` is what box i's validation says to `text`.
 */
function answerInputBoxes(answers: (string | undefined)[]) {
  const w = vscode.window as { showInputBox: typeof vscode.window.showInputBox };
  const original = w.showInputBox;
  const asked: vscode.InputBoxOptions[] = [];
  w.showInputBox = (async (opts?: vscode.InputBoxOptions) => {
    asked.push(opts ?? {});
    if (!answers.length) throw new Error(`unexpected input box: ${opts?.title}`);
    const a = answers.shift();
    if (a !== undefined) {
      const err = await opts?.validateInput?.(a);
      if (err) throw new Error(`${opts?.title} refused "${a}": ${typeof err === 'string' ? err : err.message}`);
    }
    return a;
  }) as typeof vscode.window.showInputBox;
  assert.notStrictEqual(w.showInputBox, original, 'vscode.window.showInputBox can be answered from the test');
  return {
    asked,
    refused: async (i: number, text: string) => {
      const r = await asked[i].validateInput?.(text);
      return typeof r === 'string' ? r : r?.message;
    },
    left: () => answers.length,
    restore: () => void (w.showInputBox = original),
  };
}

/** The information messages shown while `fn` runs (the real ones still show). */
async function infoShownDuring<T>(fn: () => Thenable<T>): Promise<{ result: T; shown: string[] }> {
  const w = vscode.window as { showInformationMessage: (...a: unknown[]) => Thenable<unknown> };
  const original = w.showInformationMessage;
  const shown: string[] = [];
  w.showInformationMessage = (...a: unknown[]) => {
    shown.push(String(a[0]));
    return original.apply(vscode.window, a);
  };
  try {
    return { result: await fn(), shown };
  } finally {
    w.showInformationMessage = original;
  }
}

suite('Image Trainer in VS Code', () => {
  let api: ImageTrainerApi;
  let root: string;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<ImageTrainerApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} is installed`);
    api = await ext.activate();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'a workspace folder is open');
    root = path.join(folder, 'pets');
    // two classes with their own hue, like the lesson's pets folder: {class}_{n}.png side by side
    await writePetsLikeDataset(root, { classes: ['red_thing', 'blue_thing'], perClass: 16, width: 24, height: 20, ext: 'png' });
  });

  test('activates and is trusted here', () => {
    assert.ok(vscode.extensions.getExtension(EXT_ID)?.isActive);
    assert.strictEqual(vscode.workspace.isTrusted, true);
    assert.strictEqual(api.service.running, false, 'the trainer starts on first need, not on activation');
  });

  test('every contributed command is registered, in the Image Trainer category', async () => {
    const contributed = vscode.extensions.getExtension(EXT_ID)!.packageJSON.contributes.commands as { command: string; category: string }[];
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !all.has(c.command)).map((c) => c.command);
    assert.deepStrictEqual(missing, []);
    assert.ok(contributed.every((c) => c.category === 'Image Trainer'));
    for (const id of ['openDataset', 'createLearner', 'lrFind', 'fitOneCycle', 'freeze', 'unfreeze', 'freezeTo', 'stopTraining', 'interpret', 'showResults', 'saveModel', 'loadModel', 'exportModel', 'predictImage', 'showBackendInfo'])
      assert.ok(all.has(`imageTrainer.${id}`), id);
  });

  test('Open Dataset with arguments opens the real image files and fills the Dataset view', async () => {
    const summary = (await vscode.commands.executeCommand('imageTrainer.openDataset', {
      root,
      labelling: { kind: 'nameRe', pattern: PATTERN },
      validPct: 0.25,
      seed: 1,
      size: 16,
      bs: 4,
      numWorkers: 1,
    })) as { classes: string[]; trainCount: number; validCount: number; counts: { name: string; train: number; valid: number }[] };
    assert.ok(summary, `openDataset returned a summary; errors: ${api.errors.join(' | ')}`);
    assert.deepStrictEqual(summary.classes, ['blue_thing', 'red_thing']);
    assert.strictEqual(summary.trainCount + summary.validCount, 32);
    assert.ok(api.service.trainerPid && isAlive(api.service.trainerPid), 'trainer child running');
    const view = labels(api.views.dataset());
    assert.ok(view.includes(`Folder: ${root}`), view.join('\n'));
    assert.ok(view.some((l) => l.startsWith('Classes (2)')), view.join('\n'));
    // 16 images per class, split by the trainer: the view shows the trainer's per-class counts
    assert.deepStrictEqual(summary.counts.map((c) => [c.name, c.train + c.valid]), [['blue_thing', 16], ['red_thing', 16]]);
    assert.strictEqual(summary.counts.reduce((n, c) => n + c.valid, 0), summary.validCount);
    const classes = api.views.dataset().find((n) => n.label === 'Classes (2)')!.children!;
    assert.deepStrictEqual(labels(classes), summary.counts.map((c) => `${c.name}: train ${c.train} · valid ${c.valid}`));
  });

  test('Validate with TTA before Create Learner fails with a clear message and the fix, and shows no result', async () => {
    const errorsBefore = api.errors.length;
    const { result, shown } = await infoShownDuring(() => vscode.commands.executeCommand('imageTrainer.validateTta'));
    assert.strictEqual(result, undefined);
    assert.deepStrictEqual(shown, []);
    const msg = api.errors.slice(errorsBefore).join('\n');
    assert.match(msg, /^Image Trainer: Validate with TTA failed: No learner has been created\. Fix: Create a learner first/);
    assert.strictEqual(api.service.training, false, 'nothing left running');
  });

  test('Create Learner (resnet18, no pretrained weights) fills the Learner view', async () => {
    const res = await vscode.commands.executeCommand('imageTrainer.createLearner', { arch: 'resnet18', pretrained: 'none' });
    assert.ok(res, `createLearner returned; errors: ${api.errors.join(' | ')}`);
    const view = labels(api.views.learner());
    assert.ok(view.some((l) => l.startsWith('Architecture: resnet18')), view.join('\n'));
    assert.ok(view.some((l) => l.startsWith('Backend: ')), view.join('\n'));
    const groups = api.views.learner().find((n) => n.label === 'Layer groups')!.children!;
    assert.strictEqual(groups.length, 3);
    assert.ok(groups.every((g) => g.description === 'trainable'), 'no pretrained weights: every group trains');
    assert.match(api.statusText(), /\$\(chip\) /);
  });

  test('Freeze / Freeze To / Unfreeze change the layer groups shown', async () => {
    await vscode.commands.executeCommand('imageTrainer.freeze');
    assert.strictEqual(api.service.learner?.frozenTo, 2);
    await vscode.commands.executeCommand('imageTrainer.freezeTo', { n: 1 });
    assert.strictEqual(api.service.learner?.frozenTo, 1);
    const groups = api.views.learner().find((n) => n.label === 'Layer groups')!.children!;
    assert.deepStrictEqual(groups.map((g) => g.contextValue), ['layerGroup.frozen', 'layerGroup.trainable', 'layerGroup.trainable']);
    await vscode.commands.executeCommand('imageTrainer.unfreeze');
    assert.strictEqual(api.service.learner?.frozenTo, 0);
  });

  test('a short Fit One Cycle runs end to end through the child: progress events, throttled UI updates, a finished run in the Runs view', async () => {
    const before = api.service.runs.received;
    const ui: { e: TrainerEvent; at: number }[] = [];
    const sub = api.service.onUiEvent((e) => ui.push({ e, at: Date.now() }));
    const t0 = Date.now();
    const rows = (await vscode.commands.executeCommand('imageTrainer.fitOneCycle', { epochs: 2, maxLr: 1e-2 })) as { trainLoss: number }[];
    const seconds = (Date.now() - t0) / 1000;
    sub.dispose();
    assert.ok(Array.isArray(rows) && rows.length === 2, `two epoch rows; errors: ${api.errors.join(' | ')}`);
    const events = api.service.runs.eventsSince(before);
    const begin = events.find((e) => e.type === 'fit_begin');
    assert.ok(begin && begin.type === 'fit_begin');
    const batches = events.filter((e) => e.type === 'batch' && e.runId === begin.runId);
    assert.strictEqual(batches.length, begin.totalBatches, 'every batch reported');
    assert.strictEqual(events.filter((e) => e.type === 'epoch').length, 2);
    const end = events.find((e) => e.type === 'fit_end');
    assert.ok(end && end.type === 'fit_end' && end.status === 'completed');
    // the UI saw at most ~10 batch updates per second, and the last batch for sure
    const uiBatches = ui.filter((x) => x.e.type === 'batch');
    assert.ok(uiBatches.length <= Math.ceil(seconds * 10) + 4, `${uiBatches.length} UI batch events in ${seconds.toFixed(1)} s`);
    assert.deepStrictEqual(uiBatches[uiBatches.length - 1].e, batches[batches.length - 1]);
    const run = api.views.runs()[0];
    assert.match(run.label, /^fit_one_cycle 2 ep · resnet18 · \d\d:\d\d/);
    assert.strictEqual(run.contextValue, 'run.completed');
    assert.match(run.description!, /train_loss \d+\.\d{4} · valid_loss \d+\.\d{4} · error_rate \d\.\d{4}/);
    assert.strictEqual(run.children?.length, 2, 'one row per epoch');
    console.log(`    fit: ${batches.length} batches in ${seconds.toFixed(1)} s, ${uiBatches.length} reached the UI`);
    assert.ok(api.panels().openPanels().includes('Image Trainer: Training'), `panels: ${api.panels().openPanels().join(', ')}`);
  });

  test('Find Learning Rate records suggestions', async () => {
    const res = (await vscode.commands.executeCommand('imageTrainer.lrFind', { numIt: 8, endLr: 1 })) as { lrs: number[]; suggestions: unknown };
    assert.ok(res && res.lrs.length > 0, `lrFind result; errors: ${api.errors.join(' | ')}`);
    const run = api.service.runs.list()[0];
    assert.strictEqual(run.kind, 'lr_find');
    assert.ok(run.lrFind, 'lr_find_result recorded on the run');
    assert.ok(api.panels().openPanels().includes('Image Trainer: Learning Rate Finder'), `panels: ${api.panels().openPanels().join(', ')}`);
  });

  test('Fine Tune… asks for epochs and base lr, then trains fastai v2 fine_tune: one frozen epoch at base_lr, the unfrozen ones at base_lr/2 with discriminative rates', async () => {
    const before = api.service.runs.received;
    const boxes = answerInputBoxes(['2', '2e-3']);
    let rows: EpochRecord[] | undefined;
    try {
      rows = (await vscode.commands.executeCommand('imageTrainer.fineTune')) as EpochRecord[] | undefined;
    } finally {
      boxes.restore();
    }
    assert.deepStrictEqual(boxes.asked.map((o) => [o.title, o.value]), [
      ['Image Trainer: Fine Tune — epochs', '4'],
      ['Image Trainer: Fine Tune — base learning rate', '2e-3'],
    ]);
    for (const bad of ['0', '-1', '1.5', 'two', '']) assert.ok(await boxes.refused(0, bad), `epochs "${bad}" refused`);
    for (const bad of ['0', '-2e-3', 'abc', '']) assert.ok(await boxes.refused(1, bad), `base lr "${bad}" refused`);
    assert.ok(Array.isArray(rows) && rows.length === 3, `1 frozen + 2 unfrozen epoch rows; errors: ${api.errors.join(' | ')}`);
    assert.deepStrictEqual(rows.map((r) => [r.epoch, r.phase]), [[0, 'frozen'], [1, 'unfrozen'], [2, 'unfrozen']]);

    // one run: it begins with the body frozen (head only) and reports the unfrozen phase's discriminative max lrs
    const events = api.service.runs.eventsSince(before);
    const begin = events.find((e) => e.type === 'fit_begin');
    assert.ok(begin && begin.type === 'fit_begin' && begin.kind === 'fine_tune', JSON.stringify(begin));
    assert.strictEqual(begin.epochs, 3);
    assert.strictEqual(begin.frozenTo, begin.layerGroups - 1, 'the frozen epoch trains the head only');
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b);
    assert.ok(begin.lrs.length === 3 && [1e-5, 1e-4, 1e-3].every((v, i) => close(begin.lrs[i], v)), `slice(base_lr/2/100, base_lr/2): ${begin.lrs}`);
    const batches = events.filter((e): e is Extract<TrainerEvent, { type: 'batch' }> => e.type === 'batch' && e.runId === begin.runId);
    assert.strictEqual(batches.length, begin.totalBatches, 'every batch reported');
    const head = (b: { lrs: number[] }) => b.lrs[b.lrs.length - 1];
    const frozen = batches.filter((b) => b.epoch === 0);
    const unfrozen = batches.filter((b) => b.epoch > 0);
    assert.ok(frozen.length > 0 && unfrozen.length === 2 * frozen.length, `${frozen.length} frozen, ${unfrozen.length} unfrozen batches`);
    const frozenPeak = Math.max(...frozen.map(head));
    const unfrozenPeak = Math.max(...unfrozen.map(head));
    assert.ok(frozenPeak <= 2e-3 * (1 + 1e-6) && frozenPeak > 1e-3, `frozen epoch: the head up to base_lr (peak ${frozenPeak})`);
    assert.ok(unfrozenPeak <= 1e-3 * (1 + 1e-6) && unfrozenPeak > 5e-4, `unfrozen epochs: the head up to base_lr/2 (peak ${unfrozenPeak})`);
    for (const b of unfrozen) assert.ok(close(b.lrs[0] * 100, head(b)), `the body's first group at 1/100 of the head's lr: ${b.lrs}`);
    const end = events.find((e) => e.type === 'fit_end' && e.runId === begin.runId);
    assert.ok(end && end.type === 'fit_end' && end.status === 'completed', JSON.stringify(end));

    // what the user sees: a finished fine_tune run with its three epochs, and the learner left unfrozen (as fastai)
    const run = api.service.runs.get(begin.runId)!;
    assert.strictEqual(run.status, 'completed');
    assert.deepStrictEqual(run.epochRows.map((r) => r.phase), ['frozen', 'unfrozen', 'unfrozen']);
    const node = api.views.runs()[0];
    assert.match(node.label, /^fine_tune 2 ep \+ 1 frozen · resnet18 · \d\d:\d\d$/);
    assert.strictEqual(node.contextValue, 'run.completed');
    assert.match(node.description!, /train_loss \d+\.\d{4} · valid_loss \d+\.\d{4} · error_rate \d\.\d{4}/);
    assert.deepStrictEqual(node.children?.map((c) => c.label), ['epoch 0 · frozen', 'epoch 1 · unfrozen', 'epoch 2 · unfrozen']);
    assert.strictEqual(api.service.learner?.frozenTo, 0, 'fine_tune ends with every layer group trainable');
    assert.ok(labels(api.views.learner()).includes('Layer groups: unfrozen'), labels(api.views.learner()).join('\n'));

    // values passed to the command (another command, a script) get the prompts' checks before the trainer sees them
    const refusals: [Record<string, unknown>, string][] = [
      [{ epochs: 0 }, 'epochs must be a whole number from 1 to 1000, got 0'],
      [{ epochs: 1, baseLr: -1 }, 'base learning rate must be a positive number, e.g. 2e-3, got -1'],
    ];
    for (const [args, message] of refusals) {
      const errorsBefore = api.errors.length;
      assert.strictEqual(await vscode.commands.executeCommand('imageTrainer.fineTune', args), undefined);
      assert.deepStrictEqual(api.errors.slice(errorsBefore), [`Image Trainer: Fine Tune failed: ${message}`]);
    }
    assert.strictEqual(api.service.runs.list()[0].runId, begin.runId, 'no run started');
  });

  test('Validate with TTA reports the validation error rate with and without test-time augmentation', async () => {
    const last = api.service.runs.list().find((r) => r.kind === 'fine_tune')?.epochRows.at(-1);
    assert.ok(last && last.errorRate != null, 'the fine_tune run recorded its error rate');
    const { result, shown } = await infoShownDuring(() => vscode.commands.executeCommand('imageTrainer.validateTta'));
    const r = result as ResultOf<'tta'> | undefined;
    assert.ok(r, `tta result; errors: ${api.errors.join(' | ')}`);
    const validCount = api.service.dataset!.summary.validCount;
    assert.deepStrictEqual([r.n, r.beta, r.count], [4, 0.25, validCount], 'fastai\'s defaults, every validation image');
    for (const v of [r.errorRate, r.plainErrorRate]) {
      assert.ok(v >= 0 && v <= 1, `an error rate: ${v}`);
      assert.ok(Math.abs(v * validCount - Math.round(v * validCount)) < 1e-6, `a whole number of the ${validCount} images wrong: ${v}`);
    }
    assert.ok(Math.abs(r.plainErrorRate - last.errorRate) < 1e-6, `the plain pass is the last epoch's validation (${r.plainErrorRate} vs ${last.errorRate})`);
    assert.deepStrictEqual(shown, [`Image Trainer: error_rate ${r.plainErrorRate.toFixed(4)} plain, ${r.errorRate.toFixed(4)} with TTA (n=4, beta=0.25) on ${validCount} validation images`]);
    assert.strictEqual(api.service.training, false);
  });

  test('Change Image Size… resizes the data under the kept learner; bad sizes are refused with a clear message and change nothing', async () => {
    const size = () => [api.service.dataset?.options.size, api.service.lastDataset?.options.size];
    assert.deepStrictEqual(size(), [16, 16]);
    const learner = api.service.learner;

    // Escape at the first prompt: nothing happens
    let boxes = answerInputBoxes([undefined]);
    try {
      assert.strictEqual(await vscode.commands.executeCommand('imageTrainer.changeImageSize'), undefined);
    } finally {
      boxes.restore();
    }
    assert.deepStrictEqual(size(), [16, 16]);

    // a bad value typed at the prompt is refused there, as the user types it
    boxes = answerInputBoxes(['24', '4']);
    let changed: { result: unknown; shown: string[] };
    try {
      changed = await infoShownDuring(() => vscode.commands.executeCommand('imageTrainer.changeImageSize'));
    } finally {
      boxes.restore();
    }
    assert.deepStrictEqual(boxes.asked.map((o) => [o.title, o.value]), [
      ['Image Trainer: Change Image Size — image size', '32'],
      ['Image Trainer: Change Image Size — batch size', '4'],
    ]);
    for (const bad of ['0', '-16', 'abc', '', '12.5', '4', '1025', '100000']) assert.strictEqual(await boxes.refused(0, bad), 'enter a whole number from 8 to 1024', `size "${bad}"`);
    for (const bad of ['0', '-4', 'many']) assert.strictEqual(await boxes.refused(1, bad), 'enter a whole number from 1 to 4096', `bs "${bad}"`);

    // the change: the trainer's answer, the message, the Dataset view and the saved dataset settings
    const r = changed.result as ResultOf<'changeSize'> | undefined;
    assert.ok(r, `changeSize result; errors: ${api.errors.join(' | ')}`);
    assert.deepStrictEqual([r.size, r.bs], [24, 4]);
    assert.deepStrictEqual(changed.shown, [`Image Trainer: data now at 24 px, bs 4 (${r.transforms}); the learner is kept`]);
    assert.deepStrictEqual(size(), [24, 24]);
    assert.match(api.views.dataset().find((n) => n.label === 'Split')!.tooltip!, /^size 24 · batch size 4 /);
    assert.strictEqual(api.views.dataset().find((n) => n.label === 'Transforms')?.description, r.transforms, 'the Dataset view shows the new transforms');
    assert.strictEqual(api.service.learner, learner, 'the same learner');

    // bad values passed to the command are refused before the trainer sees them, with what is allowed
    for (const bad of [0, -16, 'abc', 12.5, 100000] as unknown[]) {
      const errorsBefore = api.errors.length;
      const res = await infoShownDuring(() => vscode.commands.executeCommand('imageTrainer.changeImageSize', { size: bad, bs: 4 }));
      assert.strictEqual(res.result, undefined, `size ${String(bad)}`);
      assert.deepStrictEqual(res.shown, []);
      assert.deepStrictEqual(api.errors.slice(errorsBefore), [`Image Trainer: Change Image Size failed: image size must be a whole number from 8 to 1024, got ${JSON.stringify(bad)}`]);
      assert.deepStrictEqual(size(), [24, 24], 'nothing changed');
    }

    // the next run trains at 24 px with the kept learner, and an export of it takes 24 px images
    const rows = (await vscode.commands.executeCommand('imageTrainer.fitOneCycle', { epochs: 1, maxLr: 1e-3 })) as unknown[];
    assert.ok(Array.isArray(rows) && rows.length === 1, `a fit after the change; errors: ${api.errors.join(' | ')}`);
    assert.strictEqual(api.service.runs.list()[0].status, 'completed');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-trainer-size-'));
    try {
      const out = (await vscode.commands.executeCommand('imageTrainer.exportModel', { format: 'onnx', dir: path.join(dir, 'export') })) as { dir: string } | undefined;
      assert.ok(out, `export; errors: ${api.errors.join(' | ')}`);
      assert.match(fs.readFileSync(path.join(out.dir, 'README.md'), 'utf8'), /\[N, 3, 24, 24\]/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Show Dataset, Interpret and Compare Runs open their panels', async () => {
    const batch = (await vscode.commands.executeCommand('imageTrainer.showDataset', { n: 4 })) as { items: unknown[] };
    assert.ok(batch && batch.items.length === 4, `showBatch; errors: ${api.errors.join(' | ')}`);
    const interp = (await vscode.commands.executeCommand('imageTrainer.interpret', { k: 4 })) as { classes: string[]; n: number; confusion: number[][]; items: unknown[]; topLosses: unknown[] };
    assert.ok(interp, `interpret; errors: ${api.errors.join(' | ')}`);
    const validCount = api.service.dataset!.summary.validCount;
    assert.deepStrictEqual(interp.classes, ['blue_thing', 'red_thing']);
    assert.strictEqual(interp.n, validCount, 'every validation image interpreted');
    assert.strictEqual(interp.confusion.flat().reduce((a, b) => a + b, 0), validCount, 'the confusion matrix counts each of them once');
    assert.strictEqual(interp.items.length, validCount);
    assert.strictEqual(interp.topLosses.length, 4);
    // the page drew it: its classes and every item (not only a panel title)
    const drawn = await waitFor('the interpretation page to draw', () => {
      const r = api.panels().rendered('interpretation');
      return r && r.classes === 2 && r.items === validCount ? r : undefined;
    }, 30_000);
    // the page shows its own top-k choice (a select the user keeps across runs), capped by the images there are
    assert.strictEqual(drawn.topLosses, Math.min(Number(drawn.topK), validCount));
    const fitIds = api.service.runs.list().filter((r) => r.kind !== 'lr_find').map((r) => r.runId);
    const compared = (await vscode.commands.executeCommand('imageTrainer.compareRuns', { runIds: fitIds })) as string[];
    assert.deepStrictEqual(compared, fitIds);
    const open = api.panels().openPanels();
    for (const t of ['Dataset', 'Interpretation', 'Run Comparison']) assert.ok(open.includes(`Image Trainer: ${t}`), `panels: ${open.join(', ')}`);
  });

  test('Stop Training ends a fit within one batch', async () => {
    const before = api.service.runs.received;
    const fit = vscode.commands.executeCommand('imageTrainer.fitOneCycle', { epochs: 50, maxLr: 1e-3 });
    const begin = await waitFor('fit_begin', () => api.service.runs.eventsSince(before).find((e) => e.type === 'fit_begin'));
    const runId = (begin as { runId: string }).runId;
    await waitFor('a batch', () => api.service.runs.eventsSince(before).some((e) => e.type === 'batch'));
    assert.strictEqual(api.service.training, true);
    const stopped = (await vscode.commands.executeCommand('imageTrainer.stopTraining')) as { stopping: string | null };
    assert.strictEqual(stopped.stopping, 'fitOneCycle');
    const batchesAtStop = api.service.runs.eventsSince(before).filter((e) => e.type === 'batch').length;
    await fit;
    const after = api.service.runs.eventsSince(before);
    const batchesAfterStop = after.filter((e) => e.type === 'batch').length - batchesAtStop;
    assert.ok(batchesAfterStop <= 1, `${batchesAfterStop} batches ran after Stop answered`);
    console.log(`    stop: ${batchesAfterStop} batch(es) after Stop answered`);
    const end = after.find((e) => e.type === 'fit_end');
    assert.ok(end && end.type === 'fit_end' && end.status === 'stopped' && end.runId === runId);
    assert.strictEqual(api.service.training, false);
    assert.strictEqual(api.views.runs()[0].contextValue, 'run.stopped');
  });

  test('Save Model, Load Model and Predict Image', async () => {
    const saved = (await vscode.commands.executeCommand('imageTrainer.saveModel', { name: 'stage-1' })) as { path: string };
    assert.ok(saved && fs.existsSync(saved.path), `checkpoint written: ${JSON.stringify(saved)}; errors: ${api.errors.join(' | ')}`);
    assert.ok(await vscode.commands.executeCommand('imageTrainer.loadModel', { name: 'stage-1' }));
    const file = path.join(root, 'red_thing_1.png');
    const preds = (await vscode.commands.executeCommand('imageTrainer.predictImage', vscode.Uri.file(file))) as { className: string; probs: number[] }[];
    assert.ok(preds && preds.length === 1, `predictions; errors: ${api.errors.join(' | ')}`);
    assert.ok(['blue_thing', 'red_thing'].includes(preds[0].className));
    assert.strictEqual(preds[0].probs.length, 2);
  });

  test('Export Model as ONNX and as a TF.js graph model: the files beside a model card, Predict Image with each, a second export replaces the first and nothing else', async () => {
    const priv = path.join(root, '.image-trainer');
    // a folder of the user's beside the exports: no export may touch it or be written into it
    const mine = path.join(priv, 'my-notes');
    fs.mkdirSync(mine, { recursive: true });
    fs.writeFileSync(path.join(mine, 'keep.txt'), 'mine');
    const classImages = () => fs.readdirSync(root).filter((f) => f.endsWith('.png')).sort();
    const imagesBefore = classImages();

    type Exported = { dir: string; format: string; files: string[] };
    const onnx = (await vscode.commands.executeCommand('imageTrainer.exportModel', { format: 'onnx' })) as Exported;
    assert.ok(onnx, `onnx export; errors: ${api.errors.join(' | ')}`);
    assert.strictEqual(onnx.dir, path.join(priv, 'export-onnx'), 'by default under the dataset\'s .image-trainer/, never beside the class images');
    const tfjs = (await vscode.commands.executeCommand('imageTrainer.exportModel', { format: 'tfjs' })) as Exported;
    assert.ok(tfjs, `tfjs export; errors: ${api.errors.join(' | ')}`);
    assert.strictEqual(tfjs.dir, path.join(priv, 'export-tfjs'));
    for (const [dir, names] of [[onnx.dir, ['model.onnx', 'README.md', 'image-trainer-export.json']], [tfjs.dir, ['model.json', 'weights.bin', 'metadata.json', 'README.md', 'image-trainer-export.json']]] as const)
      for (const n of names) assert.ok(fs.statSync(path.join(dir, n)).size > 0, `${path.join(dir, n)} written`);
    assert.match(fs.readFileSync(path.join(onnx.dir, 'README.md'), 'utf8'), /onnxruntime/);

    // each export predicts what the learner predicts, through Predict Image
    const file = path.join(root, 'red_thing_1.png');
    type Pred = { className: string; probs: number[] };
    const learner = ((await vscode.commands.executeCommand('imageTrainer.predictImage', { files: [file] })) as Pred[])[0];
    assert.ok(learner, `learner prediction; errors: ${api.errors.join(' | ')}`);
    for (const dir of [onnx.dir, tfjs.dir]) {
      const p = ((await vscode.commands.executeCommand('imageTrainer.predictImage', { files: [file], modelDir: dir })) as Pred[] | undefined)?.[0];
      assert.ok(p, `prediction with ${dir}; errors: ${api.errors.join(' | ')}`);
      assert.strictEqual(p.className, learner.className, dir);
      const diff = Math.max(...p.probs.map((v, i) => Math.abs(v - learner.probs[i])));
      assert.ok(diff <= 1e-3, `${path.basename(dir)} probabilities match the learner's (max abs diff ${diff})`);
    }

    // a second export replaces the first, and only it
    const manifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'image-trainer-export.json'), 'utf8')) as { createdAt: string };
    const first = manifest(onnx.dir).createdAt;
    await new Promise((r) => setTimeout(r, 20));
    const again = (await vscode.commands.executeCommand('imageTrainer.exportModel', { format: 'onnx' })) as Exported;
    assert.ok(again, `second onnx export; errors: ${api.errors.join(' | ')}`);
    assert.notStrictEqual(manifest(onnx.dir).createdAt, first, 'the export was rewritten');
    assert.deepStrictEqual(fs.readdirSync(priv).sort(), ['export-onnx', 'export-tfjs', 'my-notes'], 'no staging or aside folders left behind');
    assert.deepStrictEqual(fs.readdirSync(mine), ['keep.txt']);
    assert.deepStrictEqual(classImages(), imagesBefore);

    // a target that is not a previous export is refused with the folder and the fix, and left alone
    const errorsBefore = api.errors.length;
    assert.strictEqual(await vscode.commands.executeCommand('imageTrainer.exportModel', { format: 'onnx', dir: mine }), undefined);
    assert.match(api.errors.slice(errorsBefore).join('\n'), new RegExp(`Export Model failed: Export folder .*my-notes is not empty and is not an Image Trainer export.*Fix: `));
    assert.deepStrictEqual(fs.readdirSync(mine), ['keep.txt']);
    assert.strictEqual(fs.readFileSync(path.join(mine, 'keep.txt'), 'utf8'), 'mine');
  });

  test('Compare Runs shows exactly the runs asked for, named as the Runs view names them', async () => {
    const fits = api.service.runs.list().filter((r) => r.kind !== 'lr_find');
    assert.ok(fits.length >= 2, `two fits so far: ${fits.map((r) => r.kind).join(', ')}`);
    const shown = async (runIds: string[]) => {
      const ids = (await vscode.commands.executeCommand('imageTrainer.compareRuns', { runIds })) as string[];
      assert.deepStrictEqual([...ids].sort(), [...runIds].sort());
      const names = api.views.runs().filter((n) => runIds.some((id) => n.tooltip?.includes(id))).map((n) => n.label);
      return waitFor(`the comparison page to draw ${runIds.length} run(s)`, () => {
        const r = api.panels().rendered('runComparison');
        return r && r.runs === runIds.length && names.every((n) => String(r.labels).includes(n)) ? r : undefined;
      }, 30_000);
    };
    await shown([fits[0].runId, fits[1].runId]);
    const one = await shown([fits[1].runId]);
    assert.strictEqual(one.labels, api.views.runs().find((n) => n.tooltip?.includes(fits[1].runId))?.label);
  });

  test('a bad dataset gives a clear error naming the file, and the trainer keeps running', async () => {
    const pid = api.service.trainerPid;
    const errorsBefore = api.errors.length;
    const res = await vscode.commands.executeCommand('imageTrainer.openDataset', { root: path.join(root, 'missing'), labelling: { kind: 'folder' } });
    assert.strictEqual(res, undefined);
    const msg = api.errors.slice(errorsBefore).join('\n');
    assert.match(msg, /Open Dataset failed: .*missing/);
    assert.match(msg, /Fix: /);
    assert.strictEqual(api.service.trainerPid, pid);
    assert.ok(api.service.learner, 'the open learner survives a failed Open Dataset');
  });

  test('killing the trainer shows the crash notification with the reason; Restart brings the dataset and learner back', async () => {
    const pid = api.service.trainerPid!;
    assert.ok(pid && isAlive(pid));
    process.kill(pid, 'SIGKILL');
    const crash = await waitFor('crash record', () => api.service.crashes[0]);
    assert.match(crash.reason, /SIGKILL/);
    assert.strictEqual(api.service.dataset, undefined);
    assert.strictEqual(api.service.learner, undefined);
    const restored = (await vscode.commands.executeCommand('imageTrainer.restartTrainer')) as { restoredDataset: boolean; restoredLearner: boolean };
    assert.deepStrictEqual(restored, { restoredDataset: true, restoredLearner: true });
    const newPid = api.service.trainerPid!;
    assert.ok(newPid && newPid !== pid && isAlive(newPid));
    const learnerNow = api.service.learner as { arch: string } | undefined; // re-read after the restart
    assert.strictEqual(learnerNow?.arch, 'resnet18');
    const rows = (await vscode.commands.executeCommand('imageTrainer.fitOneCycle', { epochs: 1, maxLr: 1e-3 })) as unknown[];
    assert.ok(Array.isArray(rows) && rows.length === 1, 'training works after the restart');
  });

  test('a crash during a fit marks the run failed with the reason (not silently lost)', async () => {
    const before = api.service.runs.received;
    const fit = vscode.commands.executeCommand('imageTrainer.fitOneCycle', { epochs: 50, maxLr: 1e-3 });
    const begin = (await waitFor('fit_begin', () => api.service.runs.eventsSince(before).find((e) => e.type === 'fit_begin'))) as { runId: string };
    process.kill(api.service.trainerPid!, 'SIGKILL');
    assert.strictEqual(await fit, undefined);
    const run = api.service.runs.get(begin.runId)!;
    assert.strictEqual(run.status, 'failed');
    assert.match(run.error ?? '', /SIGKILL/);
    assert.strictEqual(api.views.runs()[0].contextValue, 'run.failed');
    const end = api.service.runs.eventsSince(before).find((e) => e.type === 'fit_end');
    assert.ok(end && end.type === 'fit_end' && end.status === 'failed' && end.runId === begin.runId, 'a failed fit_end reaches the panels');
    await vscode.commands.executeCommand('imageTrainer.restartTrainer');
  });

  test('Show Backend Info answers with the backend', async () => {
    const b = (await vscode.commands.executeCommand('imageTrainer.showBackendInfo')) as { name: string; kind: string };
    assert.ok(b && typeof b.name === 'string', `backend info: ${JSON.stringify(b)}`);
    assert.ok((BackendInfo.shape.kind.options as readonly string[]).includes(b.kind), `a known backend kind: ${b.kind}`);
  });

  test('an unavailable backend setting gives an error with the fix; back on auto, Restart restores the session', async () => {
    const cfg = vscode.workspace.getConfiguration('imageTrainer');
    await cfg.update('backend', 'native-gpu', vscode.ConfigurationTarget.Workspace);
    try {
      const errorsBefore = api.errors.length;
      assert.strictEqual(await vscode.commands.executeCommand('imageTrainer.restartTrainer'), undefined);
      const msg = api.errors.slice(errorsBefore).join('\n');
      assert.match(msg, /Restart Trainer failed: .*native-gpu.*Fix: Set the imageTrainer.backend setting to "auto" \(or npm install @tensorflow\/tfjs-node-gpu.*\), then run Image Trainer: Restart Trainer/s);
    } finally {
      await cfg.update('backend', undefined, vscode.ConfigurationTarget.Workspace);
    }
    const restored = (await vscode.commands.executeCommand('imageTrainer.restartTrainer')) as { restoredDataset: boolean; restoredLearner: boolean };
    assert.deepStrictEqual(restored, { restoredDataset: true, restoredLearner: true });
  });

  test('deactivating stops the trainer: no orphan process', async () => {
    const pid = api.service.trainerPid!;
    assert.ok(pid && isAlive(pid));
    // the module VS Code loaded (package.json main), so this is the deactivate() VS Code calls
    const ext = vscode.extensions.getExtension(EXT_ID)!;
    const main = require(path.join(ext.extensionPath, ext.packageJSON.main)) as { deactivate(): Promise<void> };
    await main.deactivate();
    assert.ok(!isAlive(pid), 'deactivate() resolves only once the trainer is gone');
    assert.strictEqual(api.service.running, false);
  });
});
