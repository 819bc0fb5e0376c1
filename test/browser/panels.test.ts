// Each panel's bundle in a plain page (same HTML and CSP as in VS Code), fed recorded event
// streams from test/fixtures/events; screenshots in light and dark go to .test-output/panels/.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { startServer, launch, openPanel, readJsonl, cspViolations, reports, REPO, type PanelServer, type PanelPage } from './panels-harness';
import type { InterpretationData } from '../../src/protocol/webview';
import { validateWebviewMessage } from '../../src/extension/panels/validate-message';
import { formatLrValue } from '../../src/protocol/lr';
import type { TrainerEvent } from '../../src/protocol/events';
import { ClassificationInterpretation } from '../../src/trainer/interpret/interpretation';
import { toInterpretationData } from '../../src/extension/panels/interpretation-data';
import { summarizeRunEvents } from '../../src/extension/panels/run-summary';
import { renderOverlayPng } from '../../src/trainer/interpret/gradcam';

let browser: Browser;
let server: PanelServer;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function assertClean(p: PanelPage): Promise<void> {
  assert.deepEqual(await cspViolations(p.page), [], 'no Content-Security-Policy violations');
  assert.deepEqual(p.problems, [], 'no console errors');
}

/** Screenshots in the page's theme, then in the other (.test-output/panels/<name>-<theme>.png). */
async function screenshotBothThemes(p: PanelPage, name: string, themes: readonly ['dark', 'light'] | readonly ['light', 'dark']): Promise<void> {
  await p.screenshot(`${name}-${themes[0]}`);
  await p.setTheme(`vscode-${themes[1]}`);
  await p.screenshot(`${name}-${themes[1]}`);
}

/** The page stayed clean (no CSP violations, no console errors); then it closes. */
async function closeClean(p: PanelPage): Promise<void> {
  await assertClean(p);
  await p.page.close();
}

test('LR finder: the curve grows live, suggestions are marked, clicks and drags post setMaxLr', async () => {
  const events = readJsonl('lr-find.jsonl');
  const result = events.find((e) => e.type === 'lr_find_result');
  assert.ok(result && result.type === 'lr_find_result');
  assert.equal(events.filter((e) => e.type === 'batch').length, 100, 'a full 100-batch sweep');

  const p = await openPanel(browser, server, 'lrFinder', 'vscode-dark');
  // Live: feed the sweep in chunks as the trainer would stream it.
  await p.sendEvents(events.slice(0, 1 + 40));
  await p.flush();
  assert.equal(await p.page.getAttribute('[data-testid=lr-plot]', 'data-points'), '40');
  assert.match((await p.page.textContent('[data-testid=status]')) ?? '', /Sweeping… 40 batches/);
  await p.sendEvents(events.slice(41));
  await p.flush();
  // recorder.plot skips the first 10 and last 5 points: the result's curve replaces the live one.
  assert.equal(await p.page.getAttribute('[data-testid=lr-plot]', 'data-points'), String(result.lrs.length));
  const markers = JSON.parse((await p.page.getAttribute('[data-testid=lr-plot]', 'data-markers')) ?? '[]') as { name: string; lr: number; x: number; y: number }[];
  assert.deepEqual(
    markers.map((m) => [m.name, m.lr]),
    [
      ['min grad', result.suggestions.minGrad],
      ['valley', result.suggestions.valley],
    ],
  );
  const valleyText = await p.page.textContent('[data-testid=suggestion-valley]');
  assert.ok(valleyText?.includes(formatLrValue(result.suggestions.valley)), valleyText ?? '');

  // Click the valley suggestion → setMaxLr(valley).
  await p.page.click('[data-testid=suggestion-valley]');
  // Click a point on the curve → setMaxLr(that lr); drag a range → setMaxLr({start, stop}).
  const over = await p.page.locator('[data-testid=lr-plot] .u-over').boundingBox();
  assert.ok(over);
  const mk = markers[1];
  await p.page.mouse.move(over.x + mk.x, over.y + over.height / 2);
  await p.page.mouse.down();
  await p.page.mouse.up();
  await p.page.mouse.move(over.x + over.width * 0.2, over.y + 30);
  await p.page.mouse.down();
  await p.page.mouse.move(over.x + over.width * 0.35, over.y + 40, { steps: 5 });
  await p.page.mouse.move(over.x + over.width * 0.5, over.y + 40, { steps: 5 });
  await p.page.mouse.up();
  const posted = (await p.posted()).filter((m) => m.type === 'setMaxLr');
  assert.equal(posted.length, 3, JSON.stringify(posted));
  assert.equal(posted[0].lr, result.suggestions.valley);
  const clicked = posted[1].lr as number;
  assert.equal(typeof clicked, 'number');
  assert.ok(result.lrs.includes(clicked), 'a click picks a plotted point');
  assert.ok(Math.abs(Math.log10(clicked) - Math.log10(mk.lr)) < 0.15, `clicked ${clicked} near ${mk.lr}`);
  const range = posted[2].lr as { start: number; stop: number };
  assert.ok(range.start > 0 && range.stop > range.start * 10, JSON.stringify(range));
  for (const m of posted) assert.ok(validateWebviewMessage(m).ok, JSON.stringify(m));
  assert.match((await p.page.textContent('[data-testid=chosen-value]')) ?? '', /^slice\(/);
  await screenshotBothThemes(p, 'lr-finder', ['dark', 'light']);

  // Hidden and re-shown (the webview is re-created): the curve, the markers and the pick come back from setState.
  const chosen = await p.page.textContent('[data-testid=chosen-value]');
  await p.page.waitForTimeout(500);
  await p.page.reload();
  await p.page.waitForFunction(() => !!(window as unknown as { imageTrainerPanel?: unknown }).imageTrainerPanel);
  await p.flush();
  assert.equal(await p.page.getAttribute('[data-testid=lr-plot]', 'data-points'), String(result.lrs.length), 'state survives re-creation');
  assert.equal(JSON.parse((await p.page.getAttribute('[data-testid=lr-plot]', 'data-markers')) ?? '[]').length, 2);
  assert.equal(await p.page.textContent('[data-testid=chosen-value]'), chosen);
  // A reset (a new run in the reused panel) forgets the sweep but keeps the picked max lr.
  await p.send({ type: 'reset' });
  await p.flush();
  assert.equal(await p.page.getAttribute('[data-testid=lr-plot]', 'data-points'), '0');
  assert.match((await p.page.textContent('[data-testid=status]')) ?? '', /^Run Find Learning Rate/);
  assert.equal(await p.page.textContent('[data-testid=chosen-value]'), chosen);
  await closeClean(p);
});

test('Training: progress, curves and the epoch table grow as events arrive; Stop posts stop', async () => {
  const events = readJsonl('fit-one-cycle.jsonl');
  const p = await openPanel(browser, server, 'training', 'vscode-light');
  assert.equal(await p.page.locator('[data-testid=stop]').getAttribute('disabled'), '');
  let rows = 0;
  let sinceFlush = 0;
  for (const e of events) {
    await p.sendEvents([e]);
    if (++sinceFlush === 23 || e.type === 'epoch') {
      sinceFlush = 0;
      await p.flush();
    }
    if (e.type === 'epoch') {
      rows++;
      assert.equal(await p.page.locator('[data-testid=epoch-rows] tr').count(), rows, `table has ${rows} rows after epoch ${e.epoch}`);
      const cells = await p.page.locator(`[data-testid=epoch-rows] tr:nth-child(${rows}) td`).allTextContents();
      assert.deepEqual(cells.slice(0, 4), [String(e.epoch), e.trainLoss.toFixed(6), (e.validLoss as number).toFixed(6), (e.errorRate as number).toFixed(6)]);
      assert.equal(await p.page.textContent('[data-testid=epoch-progress]'), `${rows}/4`);
    }
    if (e.type === 'batch' && e.step === 200) {
      await p.flush();
      assert.equal(await p.page.textContent('[data-testid=batch-progress]'), `${e.iter + 1}/92 (epoch ${e.epoch + 1})`);
      assert.equal(await p.page.locator('[data-testid=stop]').getAttribute('disabled'), null);
      await p.page.click('[data-testid=stop]');
      const stop = (await p.posted()).filter((m) => m.type === 'stop');
      assert.deepEqual(stop, [{ type: 'stop', runId: 'fit_one_cycle-002' }]);
      assert.ok(validateWebviewMessage(stop[0]).ok);
    }
  }
  await p.flush();
  assert.equal(await p.page.locator('[data-testid=epoch-rows] tr').count(), 4);
  assert.match((await p.page.textContent('[data-testid=freeze-state]')) ?? '', /Frozen: groups 0–1 frozen.*training group 2 \(head\)/);
  assert.equal(await p.page.getAttribute('[data-testid=stop]', 'disabled'), '');
  const snap = await p.snapshot<{ run: { curves: { step: number[] } } }>();
  assert.equal(snap.run.curves.step.length, 368);
  // The page tells the host what it drew (tests in a real VS Code read this), validated like any message.
  await p.page.waitForTimeout(400);
  const rendered = (await p.posted()).filter((m) => m.type === 'rendered').pop();
  assert.deepEqual(rendered, { type: 'rendered', summary: { runId: 'fit_one_cycle-002', status: 'completed', points: 368, rows: 4, lastStep: 367 } });
  assert.ok(validateWebviewMessage(rendered).ok);
  await screenshotBothThemes(p, 'training', ['light', 'dark']);

  // Hidden and re-shown (the webview is re-created): the state comes back from setState.
  await p.page.waitForTimeout(500);
  await p.page.reload();
  await p.page.waitForFunction(() => !!(window as unknown as { imageTrainerPanel?: unknown }).imageTrainerPanel);
  assert.equal(await p.page.locator('[data-testid=epoch-rows] tr').count(), 4, 'state survives re-creation');
  await closeClean(p);
});

test('Training: a panel opened mid-run catches up from the replayed history, then continues live', async () => {
  const events = readJsonl('fit-unfrozen.jsonl');
  const cut = events.findIndex((e) => e.type === 'epoch') + 10;
  const p = await openPanel(browser, server, 'training', 'vscode-dark');
  await p.send({ type: 'reset' });
  await p.sendEvents(events.slice(0, cut)); // what RunHistory replays on 'ready'
  await p.flush();
  assert.equal(await p.page.locator('[data-testid=epoch-rows] tr').count(), 1);
  for (const e of events.slice(cut)) await p.sendEvents([e]);
  await p.flush();
  assert.equal(await p.page.locator('[data-testid=epoch-rows] tr').count(), 2);
  assert.match((await p.page.textContent('[data-testid=freeze-state]')) ?? '', /Unfrozen: all 3 layer groups train/);
  const lrCells = await p.page.locator('[data-testid=freeze] tbody tr td:nth-child(3)').allTextContents();
  assert.deepEqual(lrCells, ['1e-6', '1e-5', '1e-4'], 'the one lr formatter');
  await closeClean(p);
});

function interpretationFixture(): { data: InterpretationData; interp: ClassificationInterpretation; root: string } {
  const fx = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/events/interpretation.json'), 'utf8')) as {
    root: string;
    classes: string[];
    files: string[];
    targets: number[];
    probs: number[][];
  };
  const root = path.join(REPO, fx.root);
  const files = fx.files.map((f) => path.join(root, f));
  const interp = ClassificationInterpretation.fromPredictions(
    { files, targets: fx.targets, probs: fx.probs.map((p) => Float32Array.from(p)), losses: fx.targets.map((t, i) => -Math.log(fx.probs[i][t])) },
    fx.classes,
  );
  const data = toInterpretationData(interp, { runId: 'fit_one_cycle-002', datasetRoot: root, toSrc: (f) => server.src(path.relative(REPO, f)) });
  return { data, interp, root };
}

test('Interpretation: a confusion cell lists exactly its files; Relabel/Delete/Undo post validated intents; Grad-CAM overlays', async () => {
  const { data, interp, root } = interpretationFixture();
  const p = await openPanel(browser, server, 'interpretation', 'vscode-dark');
  await p.send({ type: 'interpretation', data });
  await p.flush();
  // The most confused pair of the fixture (e.g. bag predicted as pullover).
  const pair = interp.mostConfused(1)[0];
  const actual = data.classes.indexOf(pair.actual);
  const predicted = data.classes.indexOf(pair.predicted);
  const expected = interp.cellItems(actual, predicted).map((it) => it.file);
  assert.equal(expected.length, pair.count);
  await p.page.click(`[data-testid=confusion] td[data-actual="${actual}"][data-predicted="${predicted}"]`);
  await p.flush();
  const listed = await p.page.locator('[data-testid=cell-items] figure').evaluateAll((els) => els.map((e) => e.getAttribute('data-file')));
  assert.deepEqual(listed, expected);
  assert.match((await p.page.textContent('[data-testid=cell-title]')) ?? '', new RegExp(`actual ${pair.actual}, predicted ${pair.predicted}: ${expected.length} image`));

  // Top losses titles: predicted/actual/loss/probability.
  const top = interp.topLosses(9);
  const titles = await p.page.locator('[data-testid=top-losses] figcaption').allTextContents();
  assert.deepEqual(
    titles,
    top.map((t) => `${t.predicted}/${t.actual}/${t.loss.toFixed(2)}/${t.probability.toFixed(2)}`),
  );
  // most_confused with an adjustable min count.
  const confusedRows = async () => p.page.locator('[data-testid=most-confused] tbody tr').count();
  assert.equal(await confusedRows(), interp.mostConfused(1).length);
  await p.page.fill('[data-testid=min-count]', '2');
  assert.equal(await confusedRows(), interp.mostConfused(2).length);

  // The classification report: sklearn's numbers from the same matrix (zero divisions 0).
  const report = interp.classificationReport();
  const cells = (sel: string) => p.page.locator(sel).evaluateAll((rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent)));
  const row = (name: string, m: { precision: number; recall: number; f1: number; support: number }) => [name, m.precision.toFixed(3), m.recall.toFixed(3), m.f1.toFixed(3), String(m.support)];
  assert.deepEqual(await cells('[data-testid=per-class] tbody tr'), report.classes.map((m) => row(m.name, m)));
  assert.deepEqual(await cells('[data-testid=per-class] tfoot tr'), [
    ['accuracy', '', '', report.accuracy.toFixed(3), String(report.support)],
    row('macro avg', report.macroAvg),
    row('weighted avg', report.weightedAvg),
  ]);

  // Relabel the first top loss as its predicted class; delete the second; undo.
  const first = p.page.locator('[data-testid=top-losses] figure').first();
  await first.locator('select').selectOption(top[0].predicted);
  await first.locator('[data-testid=relabel]').click();
  await p.page.locator('[data-testid=top-losses] figure').nth(1).locator('[data-testid=delete]').click();
  await p.page.click('[data-testid=undo]');
  const intents = (await p.posted()).filter((m) => ['relabel', 'delete', 'undo'].includes(m.type));
  assert.deepEqual(intents, [{ type: 'relabel', file: top[0].file, newLabel: top[0].predicted }, { type: 'delete', file: top[1].file }, { type: 'undo' }]);
  for (const m of intents) {
    const v = validateWebviewMessage(m, { datasetRoot: root, classes: data.classes });
    assert.ok(v.ok, JSON.stringify(v));
  }
  assert.equal(validateWebviewMessage({ ...intents[0], file: '/etc/passwd' }, { datasetRoot: root, classes: data.classes }).ok, false);
  assert.match((await p.page.textContent('[data-testid=top-losses] figure:first-child .badge')) ?? '', new RegExp(`→ ${top[0].predicted}`));

  // Grad-CAM toggle asks the host for overlays of the shown top losses, then shows them.
  await p.page.click('[data-testid=gradcam]');
  const cam = (await p.posted()).find((m) => m.type === 'toggleGradCam') as { enabled: boolean; files: string[] } | undefined;
  assert.ok(cam?.enabled);
  assert.deepEqual(cam.files, top.map((t) => t.file));
  assert.ok(validateWebviewMessage(cam, { datasetRoot: root }).ok);
  const overlay = await makeOverlay();
  for (const f of cam.files.slice(0, 3)) await p.send({ type: 'gradCam', file: f, src: overlay });
  await p.flush();
  assert.equal(await p.page.locator('[data-testid=top-losses] img.gradcam').count(), 3);

  // Normalised rows.
  await p.page.click('[data-testid=normalize]');
  const diag = await p.page.textContent(`[data-testid=confusion] td[data-actual="${actual}"][data-predicted="${predicted}"]`);
  const rowSum = data.confusion[actual].reduce((a, b) => a + b, 0);
  assert.equal(diag, (data.confusion[actual][predicted] / rowSum).toFixed(2));
  await p.page.evaluate(() => Promise.all(Array.from(document.images).map((i) => i.decode().catch(() => undefined))));
  await screenshotBothThemes(p, 'interpretation', ['dark', 'light']);
  await closeClean(p);
});

/** A Grad-CAM overlay PNG rendered by the trainer's own renderer, served like asWebviewUri would. */
async function makeOverlay(): Promise<string> {
  const size = 56;
  const rgb = new Uint8Array(size * size * 3).fill(128);
  const map = new Float32Array(size * size).map((_, i) => Math.exp(-(((i % size) - 30) ** 2 + (Math.floor(i / size) - 24) ** 2) / 200));
  const png = await renderOverlayPng(rgb, map, size, { outSize: 112 });
  const dir = path.join(REPO, '.test-output/panels');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'gradcam-sample.png'), png);
  return server.src('.test-output/panels/gradcam-sample.png');
}

test('Dataset: show_batch grid, class counts, skipped files, re-shuffle', async () => {
  const { data, root } = interpretationFixture();
  const items = (data.items ?? []).slice(0, 16);
  const counts = data.classes.map((name, k) => ({ name, train: 24 + ((k * 7) % 11), valid: 6 }));
  const dataset: TrainerEvent = {
    type: 'dataset',
    root,
    rule: { kind: 'folder', train: '.', valid: null },
    classes: data.classes,
    counts,
    trainCount: counts.reduce((a, c) => a + c.train, 0),
    validCount: counts.reduce((a, c) => a + c.valid, 0),
    skipped: [
      { file: path.join(root, 'notes.txt'), reason: 'not an image (.txt)' },
      { file: path.join(root, 'coat/broken.jpg'), reason: 'cannot decode: unexpected end of JPEG data' },
    ],
  };
  const p = await openPanel(browser, server, 'dataset', 'vscode-light');
  await p.sendEvents([dataset]);
  await p.send({ type: 'datasetBatch', batch: { split: 'train', items: items.map((it) => ({ file: it.file, src: it.src, label: data.classes[it.actual] })) } });
  await p.flush();
  assert.equal(await p.page.locator('[data-testid=batch-grid] figure').count(), 16);
  assert.deepEqual(await p.page.locator('[data-testid=batch-grid] figcaption').allTextContents(), items.map((it) => data.classes[it.actual]));
  assert.equal(await p.page.locator('[data-testid=class-counts] .bars .label').count(), data.classes.length);
  assert.equal(await p.page.locator('[data-testid=skipped] tbody tr').count(), 2);
  await p.page.click('[data-testid=reshuffle]');
  const re = (await p.posted()).filter((m) => m.type === 'reshuffle');
  assert.deepEqual(re, [{ type: 'reshuffle', split: 'train' }]);
  assert.ok(validateWebviewMessage(re[0]).ok);
  await p.page.evaluate(() => Promise.all(Array.from(document.images).map((i) => i.decode().catch(() => undefined))));
  await screenshotBothThemes(p, 'dataset', ['light', 'dark']);
  await closeClean(p);
});

test('Run comparison: two runs side by side', async () => {
  const a = summarizeRunEvents(readJsonl('fit-one-cycle.jsonl'), 'stage-1 (frozen)');
  const b = summarizeRunEvents(readJsonl('fit-unfrozen.jsonl'), 'stage-2 (unfrozen)');
  assert.ok(a && b);
  const p = await openPanel(browser, server, 'runComparison', 'vscode-dark');
  await p.send({ type: 'runs', runs: [a, b] });
  await p.flush();
  const header = await p.page.locator('[data-testid=metrics] thead th').allTextContents();
  assert.deepEqual(header, ['metric', 'stage-1 (frozen)', 'stage-2 (unfrozen)']);
  const err = await p.page.locator('[data-testid=metrics] tbody tr', { hasText: 'error_rate' }).locator('td').allTextContents();
  assert.deepEqual(err, ['error_rate', '0.062000', '0.055000 ★']);
  assert.equal(await p.page.locator('[data-testid=comparison-plot] canvas').count(), 1);
  // each run's valid curve is dashed, and so is its legend marker: not its train twin's square
  // (a line sample, wide enough for its dashes to show: a dashed border round a small square reads as solid)
  const markers = await p.page.locator('[data-testid=comparison-plot] .u-legend .u-series .u-marker').evaluateAll((ms) =>
    ms.slice(1).map((m) => ({ style: getComputedStyle(m).borderTopStyle, w: m.getBoundingClientRect().width, h: m.getBoundingClientRect().height })),
  );
  assert.deepEqual(markers.map((m) => m.style), ['solid', 'dashed', 'solid', 'dashed'], `legend markers: ${JSON.stringify(markers)}`);
  for (const m of markers) assert.ok(m.w >= 3 * m.h && m.w >= 16, `a legend marker is ${m.w}×${m.h} px, not a line sample`);
  await screenshotBothThemes(p, 'run-comparison', ['dark', 'light']);
  await closeClean(p);
});

test('The same bundle renders a plain report page from embedded data, without VS Code', async () => {
  const events = readJsonl('fit-one-cycle.jsonl');
  reports.set('fit', { kind: 'training', messages: [{ type: 'events', events }] });
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.origin}/report/fit`);
  await page.waitForSelector('[data-testid=epoch-rows] tr:nth-child(4)');
  assert.equal(await page.textContent('[data-testid=status]'), 'completed');
  // Without acquireVsCodeApi the page records what it would have posted instead of failing.
  const posted = await page.evaluate(() => (window as unknown as { __postedMessages: { type: string }[] }).__postedMessages);
  assert.deepEqual(posted[0], { type: 'ready' });
  await page.evaluate(() => (document.body.className = 'vscode-high-contrast'));
  await page.waitForTimeout(100);
  await page.screenshot({ path: path.join(REPO, '.test-output/panels/training-high-contrast.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('Streams recorded from the real trainer (image-trainer --json, resnet18) render in the LR finder, training and dataset panels', async () => {
  const lr = readJsonl('recorded-lr-find-resnet18.jsonl');
  const fit = readJsonl('recorded-fit-resnet18.jsonl');
  const result = lr.find((e) => e.type === 'lr_find_result');
  assert.ok(result && result.type === 'lr_find_result');

  const a = await openPanel(browser, server, 'lrFinder', 'vscode-dark');
  await a.sendEvents(lr); // backend, dataset, fit_begin, batches, result, fit_end: the panel takes what it needs
  await a.flush();
  assert.equal(await a.page.getAttribute('[data-testid=lr-plot]', 'data-points'), String(result.lrs.length));
  const markers = JSON.parse((await a.page.getAttribute('[data-testid=lr-plot]', 'data-markers')) ?? '[]') as { lr: number }[];
  assert.deepEqual(markers.map((m) => m.lr), [result.suggestions.minGrad, result.suggestions.valley]);
  await a.screenshot('recorded-lr-find-dark');
  await assertClean(a);
  await a.page.close();

  const t = await openPanel(browser, server, 'training', 'vscode-light');
  for (const e of fit) await t.sendEvents([e]);
  await t.flush();
  const epochs = fit.filter((e) => e.type === 'epoch');
  const rows = await t.page.locator('[data-testid=epoch-rows] tr').evaluateAll((trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells).map((c) => c.textContent)));
  assert.deepEqual(
    rows.map((r) => r.slice(0, 5)),
    epochs.map((e) => e.type === 'epoch' && [String(e.epoch), e.trainLoss.toFixed(6), (e.validLoss as number).toFixed(6), (e.errorRate as number).toFixed(6), (e.accuracy as number).toFixed(6)]),
  );
  assert.equal(await t.page.textContent('[data-testid=status]'), 'completed');
  await t.screenshot('recorded-fit-light');
  await assertClean(t);
  await t.page.close();

  const d = await openPanel(browser, server, 'dataset', 'vscode-dark');
  await d.sendEvents(fit);
  await d.flush();
  assert.equal(await d.page.textContent('[data-testid=class-count]'), '3 (data.c)');
  assert.equal(await d.page.locator('[data-testid=class-counts] .bars .label').count(), 3);
  await assertClean(d);
  await d.page.close();
});

test('Every page shows the host\'s notices (a failed intent, a Grad-CAM that cannot localise) above its content; they survive re-creation until dismissed', async () => {
  for (const kind of ['interpretation', 'lrFinder', 'runComparison', 'training', 'dataset'] as const) {
    const p = await openPanel(browser, server, kind, 'vscode-dark');
    await p.send({ type: 'notice', level: 'info', message: `Grad-CAM of a.png cannot show where the model looked (${kind})` });
    const text = () => p.page.locator('[data-testid=notice]').textContent();
    assert.match((await text()) ?? '', new RegExp(`cannot show where the model looked \\(${kind}\\)`), kind);
    await p.send({ type: 'notice', level: 'error', message: 'Relabel failed' });
    assert.equal(await p.page.locator('[data-testid=notice] .notice.error').count(), 1, `${kind}: one notice, the newest`);
    await p.page.waitForTimeout(500); // the debounced save
    await p.page.reload();
    await p.page.waitForFunction(() => !!(window as unknown as { imageTrainerPanel?: unknown }).imageTrainerPanel);
    assert.match((await text()) ?? '', /Relabel failed/, `${kind}: the notice comes back with the page`);
    await p.page.click('[data-testid=notice] .dismiss');
    assert.equal(await p.page.locator('[data-testid=notice] .notice').count(), 0, `${kind}: dismissed`);
    await closeClean(p);
  }
});
