// One user journey from the palette, in the installed .vsix:
// 1. F1 → Open Dataset…: the folder picker, the labelling choice, the regex box with its live
//    preview of real files' labels, the review list with its transform rows (augmentation, resize
//    method, min scale, presize: each row follows the others); then the Dataset view lists the
//    classes and the transforms in fastai's words.
// 2. F1 → Create Learner… (resnet18, no weights), F1 → Fit One Cycle… (epochs typed, max lr
//    pre-filled), then Cancel on the progress notification stops the fit at the next batch; the
//    Runs view shows the run as stopped.
// Images are written here with the project's test helper (sharp).
const assert = require('assert');
const path = require('path');
const { writePetsLikeDataset } = require('../../../out/test/helpers/images');
const { palette, quickInput, pickFolder } = require('./lib/workbench');

module.exports = async function openDatasetAndFit({ page, outDir, workspace }) {
  const root = path.join(workspace, 'pets');
  await writePetsLikeDataset(root, { classes: ['red_thing', 'blue_thing'], perClass: 6, width: 24, height: 20, ext: 'png' });
  await palette(page, 'Image Trainer: Open Dataset');
  const input = page.locator('.quick-input-widget input');

  // code-server's folder picker is a quick input holding a path
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'the folder that holds the images' }).first().waitFor({ timeout: 30000 });
  await pickFolder(page, root);

  const labelling = page.locator('.quick-input-list .monaco-list-row', { hasText: 'From file names' }).first();
  await labelling.waitFor({ timeout: 30000 });
  await labelling.click();

  // the regex box: its message previews the labels of real files, updated as you type
  const message = page.locator('.quick-input-widget .quick-input-message');
  await message.filter({ hasText: '→ ' }).first().waitFor({ timeout: 60000 });
  let text = (await message.first().innerText()).replace(/\u00a0/g, ' ');
  assert.match(text, /12 images, 2 classes/, text);
  assert.match(text, /(blue|red)_thing_\d+\.png → (blue|red)_thing/, text);
  await page.screenshot({ path: path.join(outDir, 'open-dataset-regex-preview.png') });
  // a pattern that matches nothing says so before it can be accepted
  await input.fill('/nothing_(\\d+)\\.gif$');
  await message.filter({ hasText: /matched none|No file matches/ }).first().waitFor({ timeout: 30000 });
  await input.fill('/([^/]+)_\\d+\\.png$');
  await message.filter({ hasText: '12 images, 2 classes' }).first().waitFor({ timeout: 30000 });
  text = (await message.first().innerText()).replace(/\u00a0/g, ' ');
  await page.keyboard.press('Enter');

  // the review list: its transform rows, then "Open dataset"
  const open = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open dataset' }).first();
  await open.waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(outDir, 'open-dataset-review.png') });
  const tfms = await reviewTransforms(page);
  await open.click();

  // show the Image Trainer container (clicking its icon while it is shown would hide it)
  if (!(await page.locator('.sidebar .pane-header', { hasText: 'Dataset' }).first().isVisible())) await page.click('.activitybar [aria-label*="Image Trainer"]');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'Classes (2)' }).first().waitFor({ timeout: 60000 });
  await page.locator('.sidebar .monaco-list-row', { hasText: 'red_thing' }).first().waitFor({ timeout: 30000 });
  const transformsRow = page.locator('.sidebar .monaco-list-row', { hasText: 'Transforms' }).first();
  await transformsRow.waitFor({ timeout: 30000 });
  const shown = (await transformsRow.innerText()).replace(/\s+/g, ' ');
  assert.match(shown, /item_tfms=Resize\(32, method='pad', pad_mode='zeros'\)/, `the Dataset view's Transforms row: ${shown}`);
  assert.doesNotMatch(shown, /aug_transforms/, 'augmentation none: no batch transforms');
  await page.screenshot({ path: path.join(outDir, 'open-dataset-done.png') });
  console.log(`    preview: ${text}`);
  console.log(`    review list transform rows: ${tfms.join(' → ')}; Dataset view: ${shown}`);


  // 2. a learner and a fit, cancelled from its progress notification
  await palette(page, 'Image Trainer: Create Learner');
  await quickInput(page, 'architecture', { row: 'resnet18' });
  await quickInput(page, 'pretrained weights', { row: 'None' });
  if (!(await page.locator('.sidebar .pane-header', { hasText: 'Learner' }).first().isVisible())) await page.click('.activitybar [aria-label*="Image Trainer"]');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'resnet18' }).first().waitFor({ timeout: 60000 });

  await palette(page, 'Image Trainer: Fit One Cycle');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'epochs' }).first().waitFor({ timeout: 30000 });
  await input.fill('20');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'max learning rate' }).first().waitFor({ timeout: 30000 });
  const prefilled = await input.inputValue();
  assert.match(prefilled, /^[\d.e-]+(:[\d.e-]+)?$/, `max lr pre-filled: ${prefilled}`);
  await page.keyboard.press('Enter');

  // the cancellable progress notification reports epochs/batches and loss as batches arrive
  const toast = page.locator('.notification-toast', { hasText: 'fit_one_cycle(20' }).first();
  await toast.locator('.notification-list-item-message', { hasText: /batch \d+\/\d+ · loss/ }).waitFor({ timeout: 120000 });
  await page.locator('.statusbar-item', { hasText: /epoch 1\/20/ }).first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(outDir, 'fit-progress.png') });
  await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click();

  const stopped = page.locator('.sidebar .monaco-list-row', { hasText: 'fit_one_cycle 20 ep' }).first();
  await stopped.waitFor({ timeout: 60000 });
  await page.locator('.sidebar .monaco-list-row .codicon-debug-stop').first().waitFor({ timeout: 60000 });
  await page.screenshot({ path: path.join(outDir, 'fit-cancelled.png') });
  console.log(`    max lr pre-filled with ${prefilled}; cancelled fit shown as stopped`);
};

/** The review list's transform rows as the user changes them; returns what each step showed. */
async function reviewTransforms(page) {
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const labels = async () => (await rows.locator('.label-name').allInnerTexts()).map((t) => t.trim()).filter((t) => /^(Augmentation|Resize|Min scale|Presize):/.test(t));
  const review = async (expected) => {
    await quickInputTitled(page, 'open the dataset');
    await rows.filter({ hasText: expected[0] }).first().waitFor({ timeout: 30000 });
    const got = await labels();
    assert.deepStrictEqual(got, expected, 'review list transform rows');
    return got.join(', ');
  };
  const pickRow = async (row, title, choice) => {
    await rows.filter({ hasText: row }).first().click();
    await quickInput(page, title, { row: choice });
  };
  const seen = [];
  // the defaults: fastai v2's aug_transforms with presizing to Size (32 in this workspace)
  seen.push(await review(['Augmentation: aug_transforms (v2)', 'Resize: crop', 'Min scale: 1', 'Presize: 32']));
  // v1's get_transforms has its own resize: the v2 rows go
  await pickRow('Augmentation:', 'augmentation of the training images', 'get_transforms (v1)');
  seen.push(await review(['Augmentation: get_transforms (v1)']));
  // no augmentation: Resize and min scale (RandomResizedCrop below 1), no presize
  await pickRow('Augmentation:', 'augmentation of the training images', 'none');
  seen.push(await review(['Augmentation: none', 'Resize: crop', 'Min scale: 1']));
  await pickRow('Resize:', 'Resize method', 'pad (zeros)');
  seen.push(await review(['Augmentation: none', 'Resize: pad (zeros)', 'Min scale: 1']));
  // a min scale out of range is refused as it is typed; Escape goes back to the list unchanged
  await rows.filter({ hasText: 'Min scale:' }).first().click();
  await quickInputTitled(page, 'Min scale');
  await page.locator('.quick-input-widget input').fill('0');
  await page.locator('.quick-input-widget .quick-input-message', { hasText: 'enter a number from 0.01 to 1' }).first().waitFor({ timeout: 30000 });
  await page.keyboard.press('Escape');
  seen.push(await review(['Augmentation: none', 'Resize: pad (zeros)', 'Min scale: 1']));
  return seen;
}

async function quickInputTitled(page, title) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ timeout: 30000 });
}

// small images and batches: the CI machine has 2 cores shared with the workbench
module.exports.workspaceSettings = { 'imageTrainer.size': 32, 'imageTrainer.batchSize': 4 };
