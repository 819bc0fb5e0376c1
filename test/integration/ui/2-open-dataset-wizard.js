// F1 → "Image Trainer: Open Dataset…" as a user does it: the folder picker, the labelling choice,
// the regex box with its live preview of real files' labels, the review list; then the Dataset
// view lists the classes. Images are written here with the project's test helper (sharp).
const assert = require('assert');
const path = require('path');
const { writePetsLikeDataset } = require('../../../out/test/helpers/images');

module.exports = async function openDatasetWizard({ page, outDir, workspace }) {
  const root = path.join(workspace, 'pets');
  await writePetsLikeDataset(root, { classes: ['red_thing', 'blue_thing'], perClass: 6, width: 24, height: 20, ext: 'png' });
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15000 });
  await input.fill('>Image Trainer: Open Dataset');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Dataset' }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');

  // code-server's folder picker is a quick input holding a path: type the folder, accept it
  await page.locator('.quick-input-widget', { hasText: 'Open Dataset' }).first().waitFor({ timeout: 15000 }).catch(() => undefined);
  await input.fill(`${root}/`);
  await page.waitForTimeout(500);
  await page.keyboard.press('Enter');

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

  // the review list: Enter on "Open dataset"
  const open = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open dataset' }).first();
  await open.waitFor({ timeout: 15000 });
  await page.screenshot({ path: path.join(outDir, 'open-dataset-review.png') });
  await open.click();

  // show the Image Trainer container (clicking its icon while it is shown would hide it)
  if (!(await page.locator('.sidebar .pane-header', { hasText: 'Dataset' }).first().isVisible())) await page.click('.activitybar [aria-label*="Image Trainer"]');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'Classes (2)' }).first().waitFor({ timeout: 60000 });
  await page.locator('.sidebar .monaco-list-row', { hasText: 'red_thing' }).first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: path.join(outDir, 'open-dataset-done.png') });
  console.log(`    preview: ${text}`);
};
