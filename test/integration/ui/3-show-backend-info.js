// F1 → "Image Trainer: Show Backend Info" in the installed .vsix, checked by what the user sees:
// the notification's text, then the same line in the "Image Trainer" output channel.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { findJemalloc } = require('../../../out/src/protocol/trainer-launch');

module.exports = async function showBackendInfo({ page, outDir }) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 30000 });
  await input.fill('>Image Trainer: Show Backend Info');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show Backend Info' }).first();
  await row.waitFor({ timeout: 30000 });
  await page.keyboard.press('Enter');

  // the trainer process starts and answers: a notification names the backend
  const toast = page.locator('.notification-toast', { hasText: 'Image Trainer backend:' }).first();
  await toast.waitFor({ timeout: 90000 });
  const text = (await toast.locator('.notification-list-item-message').innerText()).trim();
  assert.match(text, /^Image Trainer backend: \S+ \((?:(?:native-gpu|native-cpu|wasm|cpu), )?.*fp16 (yes|no)(?:, bf16 (?:yes|no))?(?:, (?:jemalloc|system malloc))?\)/, text);
  // the extension forks the trainer on jemalloc where the machine has it (CI installs it)
  if (/^Image Trainer backend: torch /.test(text) && findJemalloc(fs.existsSync, process.platform)) assert.match(text, /, jemalloc\)/, text);
  await page.screenshot({ path: path.join(outDir, 'show-backend-info.png') });

  // its "Show Log" button opens the output channel with the trainer's log and the same line
  await toast.locator('a.monaco-button, .monaco-button', { hasText: 'Show Log' }).first().click();
  const output = page.locator('.part.panel .monaco-editor .view-lines').first();
  await output.waitFor({ timeout: 20000 });
  // the editor keeps only the visible lines in the page and follows the end of the log, where the
  // full backend report now goes: read it page by page from the end up
  await output.click();
  await page.keyboard.press('Control+End');
  let log = '';
  for (let i = 0; i < 40 && !(/Image Trainer backend:/.test(log) && /trainer started \(pid \d+\)/.test(log)); i++) {
    await page.waitForTimeout(i === 0 ? 1000 : 150);
    log = (await output.innerText()).replace(/\u00a0/g, ' ') + '\n' + log;
    await page.keyboard.press('PageUp');
  }
  assert.match(log, /Image Trainer backend: /, log.slice(-800));
  assert.match(log, /trainer started \(pid \d+\)/, log.slice(0, 500));
  assert.match(log, /libtorch: |not running /, 'the full backend report is in the log');
  await page.screenshot({ path: path.join(outDir, 'show-backend-info-output.png') });
  console.log(`    notification: ${text}`);
};
