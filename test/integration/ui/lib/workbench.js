// What the UI tests do in the workbench, as a user would: the command palette, quick inputs, the
// Open Dataset wizard, and reading inside the panels' webview iframes.
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '../../../..');
const FIXTURE_IMAGES = path.join(ROOT, 'test/fixtures/events/images');
const CLASSES = ['bag', 'trouser', 'tshirt'];

/** One folder per class with real Fashion-MNIST PNGs (the panel fixtures), 6 per class, twice over. */
function writeDataset(dir) {
  for (const c of CLASSES) {
    fs.mkdirSync(path.join(dir, c), { recursive: true });
    for (const f of fs.readdirSync(path.join(FIXTURE_IMAGES, c))) {
      fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, c, f));
      fs.copyFileSync(path.join(FIXTURE_IMAGES, c, f), path.join(dir, c, `b_${f}`));
    }
  }
}

/** Runs a palette command by its title ("Image Trainer: Fit One Cycle", "View: Close All Editors"). */
async function palette(page, command) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command.replace(/^[^:]+: /, '') }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

/** Waits for a quick pick / input whose title contains `title`, then picks the row with `row` (or just Enter). */
async function quickInput(page, title, { row, value } = {}) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).first().waitFor({ timeout: 60000 });
  if (value !== undefined) await page.locator('.quick-input-widget input').fill(value);
  if (row) {
    const r = page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
    await r.waitFor({ timeout: 15000 });
    await r.click();
  } else await page.keyboard.press('Enter');
}

/** The frame of the panel page whose body says data-panel=kind (webview iframes nest twice). */
async function panelFrame(page, kind, timeout = 90000) {
  const t0 = Date.now();
  for (;;) {
    for (const f of page.frames()) {
      const k = await f.evaluate(() => document.body && document.body.dataset.panel).catch(() => undefined);
      if (k === kind) return f;
    }
    if (Date.now() - t0 > timeout) throw new Error(`no ${kind} panel webview after ${timeout} ms`);
    await page.waitForTimeout(250);
  }
}

/** Polls `probe` inside the panel's page until it returns {ok: true, …}. */
async function waitInFrame(page, kind, probe, what, timeout = 600000, arg = undefined) {
  const t0 = Date.now();
  let last;
  for (;;) {
    const f = await panelFrame(page, kind, timeout);
    last = await f.evaluate(probe, arg).catch((e) => `error: ${e.message}`);
    if (last && last.ok) return last;
    if (last && /^failed/.test(last.status || '')) throw new Error(`${kind} panel shows the run failed: ${last.status}`);
    if (Date.now() - t0 > timeout) throw new Error(`${kind} panel: timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await page.waitForTimeout(250);
  }
}

/**
 * Open Dataset's folder dialog (code-server's quick-input file dialog): moves into `folder` and
 * accepts it. The dialog lists the folder's entries once it has moved into it (accepting earlier
 * opens the parent); on loaded cores it can also finish loading after our fill and put its start
 * folder back into the input, so fill again until it shows the folder.
 */
async function pickFolder(page, folder) {
  const pathInput = page.locator('.quick-input-widget input');
  await pathInput.waitFor({ timeout: 15000 });
  // a folder dialog lists folders only: expect the first subfolder, or just '..' in a folder of files
  const entry = fs.readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()[0];
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const showsFolder = entry
    ? () => rows.filter({ hasText: entry }).first().waitFor({ timeout: 10000 }).then(() => true, () => false)
    : () => page.waitForFunction(() => {
        const labels = [...document.querySelectorAll('.quick-input-list .monaco-list-row .label-name')].map((l) => l.textContent.trim());
        return labels.length > 0 && labels.every((l) => l === '..');
      }, null, { timeout: 10000 }).then(() => true, () => false);
  for (let attempt = 1; ; attempt++) {
    await pathInput.fill(folder + '/');
    const listed = await showsFolder();
    await page.waitForTimeout(500);
    const value = await pathInput.inputValue();
    if (listed && value.startsWith(folder)) break;
    if (attempt === 6) throw new Error(`the folder dialog did not move into ${folder}: it shows ${value}`);
  }
  await page.locator('.quick-input-widget .quick-input-action a, .quick-input-widget .monaco-button', { hasText: 'Open Dataset' }).first().click();
}

/** Open Dataset…: folder (simple file dialog), labels from folders, confirm, open. */
async function openDatasetFromFolders(page, folder) {
  await palette(page, 'Image Trainer: Open Dataset');
  await pickFolder(page, folder);
  await quickInput(page, 'how are the labels', { row: 'From folders' });
  await quickInput(page, 'classes', { row: 'Use these labels' });
  await quickInput(page, 'open the dataset', { row: 'Open dataset' });
  await page.locator('.statusbar-item', { hasText: /3 classes/ }).first().waitFor({ timeout: 60000 }).catch(() => undefined);
}

/** Create Learner…: resnet18, no pretrained weights (nothing to download here). */
async function createLearner(page) {
  await palette(page, 'Image Trainer: Create Learner');
  await quickInput(page, 'architecture', { row: 'resnet18' });
  await quickInput(page, 'pretrained weights', { row: 'None' });
  // the Learner view lists it once the trainer built it (Find Learning Rate is enabled from then on)
  await showSidebar(page, 'Learner');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'resnet18' }).first().waitFor({ timeout: 120000 });
}

/** Clicks the editor tab of a panel (the others in its column are hidden, their pages destroyed). */
async function showTab(page, title) {
  await page.locator('.tabs-container .tab', { hasText: title }).first().click();
}

/** The Image Trainer sidebar, shown (clicking its icon while it is shown would hide it). */
async function showSidebar(page, pane = 'Runs') {
  if (!(await page.locator('.sidebar .pane-header', { hasText: pane }).first().isVisible().catch(() => false))) await page.click('.activitybar [aria-label*="Image Trainer"]');
  await page.locator('.sidebar .pane-header', { hasText: pane }).first().waitFor({ timeout: 30000 });
}

module.exports = { ROOT, CLASSES, writeDataset, palette, quickInput, panelFrame, waitInFrame, pickFolder, openDatasetFromFolders, createLearner, showTab, showSidebar };
