// On the dataset the wizard test opened: F1 → Create Learner… (resnet18, no weights), F1 → Fit One
// Cycle… (epochs typed, max lr pre-filled), then Cancel on the progress notification stops the fit
// at the next batch; the Runs view shows the run as stopped.
const assert = require('assert');
const path = require('path');

async function palette(page, command) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15000 });
  await input.fill(`>Image Trainer: ${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

async function pick(page, title, row) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ timeout: 60000 });
  const r = page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
  await r.waitFor({ timeout: 15000 });
  await r.click();
}

module.exports = async function fitAndCancel({ page, outDir }) {
  await palette(page, 'Create Learner');
  await pick(page, 'architecture', 'resnet18');
  await pick(page, 'pretrained weights', 'None');
  if (!(await page.locator('.sidebar .pane-header', { hasText: 'Learner' }).first().isVisible())) await page.click('.activitybar [aria-label*="Image Trainer"]');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'resnet18' }).first().waitFor({ timeout: 60000 });

  await palette(page, 'Fit One Cycle');
  const input = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'epochs' }).first().waitFor({ timeout: 15000 });
  await input.fill('20');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'max learning rate' }).first().waitFor({ timeout: 15000 });
  const prefilled = await input.inputValue();
  assert.match(prefilled, /^[\d.e-]+(:[\d.e-]+)?$/, `max lr pre-filled: ${prefilled}`);
  await page.keyboard.press('Enter');

  // the cancellable progress notification reports epochs/batches and loss as batches arrive
  const toast = page.locator('.notification-toast', { hasText: 'fit_one_cycle(20' }).first();
  await toast.locator('.notification-list-item-message', { hasText: /batch \d+\/\d+ · loss/ }).waitFor({ timeout: 120000 });
  await page.locator('.statusbar-item', { hasText: /epoch 1\/20/ }).first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(outDir, 'fit-progress.png') });
  await toast.locator('.monaco-button', { hasText: 'Cancel' }).first().click();

  const stopped = page.locator('.sidebar .monaco-list-row', { hasText: 'fit_one_cycle · 20 epochs' }).first();
  await stopped.waitFor({ timeout: 60000 });
  await page.locator('.sidebar .monaco-list-row .codicon-debug-stop').first().waitFor({ timeout: 60000 });
  await page.screenshot({ path: path.join(outDir, 'fit-cancelled.png') });
  console.log(`    max lr pre-filled with ${prefilled}; cancelled fit shown as stopped`);
};
