// The webview → host boundary: every message is validated before the extension acts on it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { HostMessage } from '../../src/protocol/webview';
import { validateWebviewMessage, isInsideRoot } from '../../src/extension/panels/validate-message';
import { panelHtml, panelCsp } from '../../src/extension/panels/html';
import { summarizeRunEvents, toRunSummary } from '../../src/extension/panels/run-summary';
import { runFromEvents } from '../../src/protocol/run-reducer';
import { fromInterpretationJson } from '../../src/extension/panels/interpretation-data';
import type { TrainerEvent } from '../../src/protocol/events';

const root = '/data/pets/images';
const ctx = { datasetRoot: root, classes: ['beagle', 'pug', 'sphynx'] };

test('relabel and delete inside the dataset folder pass', () => {
  const r = validateWebviewMessage({ type: 'relabel', file: `${root}/beagle_12.jpg`, newLabel: 'pug' }, ctx);
  assert.deepEqual(r, { ok: true, message: { type: 'relabel', file: `${root}/beagle_12.jpg`, newLabel: 'pug' } });
  assert.ok(validateWebviewMessage({ type: 'delete', file: `${root}/sub/dir/pug_1.jpg` }, ctx).ok);
});

test('a relabel or delete of a file outside the dataset folder is refused, naming the file and the folder', () => {
  for (const file of ['/etc/passwd', `${root}/../secrets.txt`, '/data/pets/images-other/a.jpg', root, 'beagle_12.jpg', `${root}/a\0.jpg`, '']) {
    for (const msg of [{ type: 'relabel', file, newLabel: 'pug' }, { type: 'delete', file }]) {
      const r = validateWebviewMessage(msg, ctx);
      assert.equal(r.ok, false, `${msg.type} ${JSON.stringify(file)} must be refused`);
      if (!r.ok && file) assert.match(r.error, /outside the dataset folder|malformed/);
    }
  }
  const r = validateWebviewMessage({ type: 'delete', file: '/etc/passwd' }, ctx);
  assert.ok(!r.ok && r.error.includes('/etc/passwd') && r.error.includes(root));
});

test('Grad-CAM requests are held to the dataset folder too', () => {
  assert.ok(validateWebviewMessage({ type: 'toggleGradCam', enabled: true, files: [`${root}/a.jpg`] }, ctx).ok);
  assert.equal(validateWebviewMessage({ type: 'toggleGradCam', enabled: true, files: [`${root}/a.jpg`, '/home/me/.ssh/id_rsa'] }, ctx).ok, false);
  assert.ok(validateWebviewMessage({ type: 'toggleGradCam', enabled: false }, ctx).ok);
});

test('without an open dataset, file intents are refused', () => {
  const r = validateWebviewMessage({ type: 'delete', file: `${root}/a.jpg` }, {});
  assert.ok(!r.ok && /no dataset is open/.test(r.error));
});

test('a relabel must name a known class', () => {
  const r = validateWebviewMessage({ type: 'relabel', file: `${root}/a.jpg`, newLabel: '../../evil' }, ctx);
  assert.ok(!r.ok && /unknown class/.test(r.error));
});

test('windows paths: containment is judged with win32 rules', () => {
  const w = { datasetRoot: 'C:\\data\\pets', classes: ['pug'], pathApi: path.win32 };
  assert.ok(validateWebviewMessage({ type: 'delete', file: 'C:\\data\\pets\\pug_1.jpg' }, w).ok);
  assert.equal(validateWebviewMessage({ type: 'delete', file: 'C:\\data\\pets\\..\\x.jpg' }, w).ok, false);
  assert.equal(validateWebviewMessage({ type: 'delete', file: 'D:\\data\\pets\\pug_1.jpg' }, w).ok, false);
  assert.equal(isInsideRoot('c:\\data\\petsX\\a.jpg', 'C:\\data\\pets', path.win32), false);
});

test('malformed and unknown messages are refused without throwing', () => {
  for (const raw of [null, undefined, 42, 'stop', {}, { type: 'rm -rf' }, { type: 'setMaxLr', lr: -1 }, { type: 'setMaxLr', lr: 'fast' }, { type: 'requestCellItems', actual: -1, predicted: 0 }, { type: 'relabel', file: `${root}/a.jpg` }]) {
    const r = validateWebviewMessage(raw, ctx);
    assert.equal(r.ok, false, JSON.stringify(raw));
  }
  assert.equal(validateWebviewMessage({ type: 'setMaxLr', lr: { start: 1e-3, stop: 1e-5 } }).ok, false, 'start above stop');
  assert.equal(validateWebviewMessage({ type: 'requestCellItems', actual: 3, predicted: 0 }, ctx).ok, false, 'class index out of range');
});

test('the LR finder intents: a number or a slice', () => {
  assert.ok(validateWebviewMessage({ type: 'setMaxLr', lr: 3e-3 }).ok);
  assert.ok(validateWebviewMessage({ type: 'setMaxLr', lr: { start: 1e-6, stop: 1e-4 } }).ok);
  assert.ok(validateWebviewMessage({ type: 'stop', runId: 'fit-1' }).ok);
  assert.ok(validateWebviewMessage({ type: 'ready' }).ok);
});

test('the page has a strict CSP: nonce scripts, no inline styles, resources only from the webview origin', () => {
  const csp = panelCsp('https://x.vscode-cdn.net', 'abc');
  assert.equal(csp, "default-src 'none'; script-src 'nonce-abc'; style-src https://x.vscode-cdn.net; img-src https://x.vscode-cdn.net data:; font-src https://x.vscode-cdn.net");
  const html = panelHtml({ kind: 'training', cspSource: 'https://x.vscode-cdn.net', nonce: 'abc', mediaUri: (p) => `https://x.vscode-cdn.net/media/${p}`, initialState: { evil: '</script><script>alert(1)</script>' } });
  assert.match(html, /<script nonce="abc" src="https:\/\/x\.vscode-cdn\.net\/media\/webviews\/training\.js">/);
  assert.ok(!html.includes('</script><script>alert(1)'), 'embedded state cannot close its script element');
  assert.ok(!/unsafe-inline|unsafe-eval/.test(html));
});

const fitEvents: TrainerEvent[] = [
  { type: 'fit_begin', runId: 'r1', kind: 'fit_one_cycle', epochs: 1, batchesPerEpoch: 2, totalBatches: 2, lrs: [1e-3], frozenTo: 0, layerGroups: 1 },
  { type: 'batch', runId: 'r1', epoch: 0, iter: 0, step: 0, lrs: [1e-4], mom: 0.95, loss: 2, smoothLoss: 2 },
  { type: 'batch', runId: 'r1', epoch: 0, iter: 1, step: 1, lrs: [1e-3], mom: 0.85, loss: 1, smoothLoss: 1.5 },
  { type: 'epoch', runId: 'r1', epoch: 0, trainLoss: 1.5, validLoss: 1.2, errorRate: 0.3, accuracy: 0.7, seconds: 3, trainImagesPerSecond: 40 },
  { type: 'fit_end', runId: 'r1', kind: 'fit_one_cycle', status: 'completed' },
];

test('a run summary from its events: curves per batch (replayed duplicates count once), epoch steps, status', () => {
  const replayedAndLive = [...fitEvents.slice(0, 3), ...fitEvents.slice(1)];
  const s = summarizeRunEvents(replayedAndLive, 'stage-1');
  assert.deepEqual(s?.trainLoss, [
    [0, 2],
    [1, 1.5],
  ]);
  assert.equal(s?.label, 'stage-1');
  assert.equal(s?.epochs.length, 1);
  assert.equal(s?.epochs[0].step, 1);
  assert.equal(s?.status, 'completed');
  assert.equal(summarizeRunEvents(fitEvents.slice(1)), undefined, 'no fit_begin, no run');
  for (const m of [{ type: 'events', events: fitEvents }, { type: 'runs', runs: [s] }]) assert.ok(HostMessage.safeParse(m).success);
});

test('a run without curves (the persisted history) draws its train loss at epoch ends', () => {
  const run = runFromEvents(fitEvents)!;
  assert.equal(run.curves, undefined);
  const s = toRunSummary(run);
  assert.deepEqual(s.trainLoss, [[1, 1.5]]);
  assert.ok(HostMessage.safeParse({ type: 'runs', runs: [s] }).success);
});

test('the trainer’s interpret JSON becomes panel data: top losses from all items, images through toSrc', () => {
  const data = fromInterpretationJson(
    {
      classes: ['a', 'b'],
      items: [
        { file: '/d/a1.png', actual: 0, predicted: 0, probs: [0.9, 0.1], loss: 0.105 },
        { file: '/d/a2.png', actual: 0, predicted: 1, probs: [0.2, 0.8], loss: 1.609 },
        { file: '/d/b1.png', actual: 1, predicted: 1, probs: [0.3, 0.7], loss: 0.357 },
      ],
      confusion: [
        [1, 1],
        [0, 1],
      ],
      mostConfused: [{ actual: 'a', predicted: 'b', count: 1 }],
      topLosses: [{ file: '/d/a2.png', actual: 'a', predicted: 'b', loss: 1.609, probability: 0.2 }],
      perClass: [{ name: 'a', support: 2, precision: 1, recall: 0.5, f1: 2 / 3 }, { name: 'b', support: 1, precision: 0.5, recall: 1, f1: 2 / 3 }],
      errorRate: 1 / 3,
    },
    { toSrc: (f) => `https://cdn/${f}` },
  );
  assert.deepEqual(
    data.topLosses.map((t) => t.file),
    ['/d/a2.png', '/d/b1.png', '/d/a1.png'],
  );
  assert.equal(data.topLosses[0].probActual, 0.2);
  assert.equal(data.items?.[0].src, 'https://cdn//d/a1.png');
  assert.ok(HostMessage.safeParse({ type: 'interpretation', data }).success);
});
