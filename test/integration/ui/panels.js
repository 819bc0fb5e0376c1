// The panels in a real VS Code, driven as a user would: from the palette open a real image
// folder (the Open Dataset wizard), create a resnet18, Find Learning Rate, then Fit One Cycle; read
// the LR-finder and training panels inside their webview iframes while the data arrives, and keep
// screenshots of each panel in the dark and light themes (.test-output/ui/panels-*.png).
const assert = require('assert');
const fs = require('fs');
const path = require('path');

const { writeDataset, palette, quickInput, panelFrame, waitInFrame, openDatasetFromFolders, createLearner } = require('./lib/workbench');

/** Small images and batches (2 shared cores; the 224 px / bs 64 defaults run wasm out of memory), resnet18, dark theme. */
const SETTINGS = { 'imageTrainer.size': 32, 'imageTrainer.batchSize': 4, 'imageTrainer.defaultArch': 'resnet18', 'workbench.colorTheme': 'Default Dark Modern' };

/** Changes workspace settings while the window is open (only the theme: VS Code applies it asynchronously). */
function writeSettings(workspace, extra = {}) {
  const dir = path.join(workspace, '.vscode');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'settings.json');
  const old = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...old, ...SETTINGS, ...extra }, null, 2));
}

async function setTheme(page, workspace, theme) {
  writeSettings(workspace, { 'workbench.colorTheme': theme });
  const cls = theme.includes('Light') ? 'vs' : 'vs-dark';
  await page.waitForFunction((c) => !!document.querySelector(`.monaco-workbench.${c}`), cls, { timeout: 20000 });
  await page.waitForTimeout(800); // webviews restyle from the new --vscode-* variables and redraw their plots
}

/** Where the panel's page is on screen (its iframe, relative to the window). */
async function webviewBox(page, kind) {
  const f = await panelFrame(page, kind);
  return (await f.frameElement()).boundingBox();
}

/** What overflows inside the panel page: anything wider than the page (horizontal scrolling) or sticking out of its card. */
const overflowProbe = () => {
  const doc = document.documentElement;
  const out = [];
  if (doc.scrollWidth > doc.clientWidth + 1) out.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const card of document.querySelectorAll('.card')) {
    const r = card.getBoundingClientRect();
    for (const el of card.querySelectorAll('table, canvas, .uplot, .grid, .bars, .progress')) {
      const e = el.getBoundingClientRect();
      if (e.width > 0 && e.right > r.right + 1) out.push(`${el.tagName.toLowerCase()}.${el.className || ''} in "${card.querySelector('h2')?.textContent}" sticks out by ${Math.round(e.right - r.right)} px`);
    }
  }
  return out;
};

/**
 * Screenshots of the panel in dark and light, at 1400×900 and in a 700 px-wide column, kept in
 * .test-output/screenshots; each asserts nothing overflows. Back to dark and 1400×900 afterwards.
 */
async function themed(page, workspace, outDir, name, kind) {
  const shots = path.join(outDir, '..', 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  const problems = [];
  for (const theme of ['Default Dark Modern', 'Default Light Modern']) {
    await setTheme(page, workspace, theme);
    const t = theme.includes('Light') ? 'light' : 'dark';
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(outDir, `panels-${name}-${t}.png`) });
    await page.screenshot({ path: path.join(shots, `${name}-${t}-1400x900.png`) });
    if (kind) problems.push(...(await (await panelFrame(page, kind)).evaluate(overflowProbe)).map((p) => `${t} 1400x900: ${p}`));
    // a 700 px-wide column: shrink the window until the panel's column is 700 px wide
    const box = kind ? await webviewBox(page, kind) : undefined;
    if (box) {
      await page.setViewportSize({ width: Math.max(760, Math.round(1400 - (box.width - 700))), height: 900 });
      await page.waitForTimeout(800); // plots follow their container (ResizeObserver)
      const narrow = await webviewBox(page, kind);
      await page.screenshot({ path: path.join(shots, `${name}-${t}-700col.png`), clip: narrow ?? box });
      if (kind) problems.push(...(await (await panelFrame(page, kind)).evaluate(overflowProbe)).map((p) => `${t} ${Math.round((narrow ?? box).width)} px column: ${p}`));
    }
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await setTheme(page, workspace, 'Default Dark Modern');
  assert.deepStrictEqual(problems, [], `${name}: nothing overflows`);
}

module.exports = async function panels({ page, outDir, workspace }) {
  const data = path.join(workspace, 'fashion');
  writeDataset(data);

  await openDatasetFromFolders(page, data);
  await createLearner(page);

  // Find Learning Rate: the LR-finder panel draws the sweep live, then the suggestions.
  await palette(page, 'Image Trainer: Find Learning Rate');
  const live = await waitInFrame(
    page,
    'lrFinder',
    () => {
      const n = Number(document.querySelector('[data-testid=lr-plot]')?.getAttribute('data-points') ?? 0);
      return { ok: n >= 5, n, status: document.querySelector('[data-testid=status]')?.textContent };
    },
    'live points',
  );
  console.log(`    LR finder live: ${live.n} points, "${live.status}"`);
  const done = await waitInFrame(
    page,
    'lrFinder',
    () => {
      const markers = JSON.parse(document.querySelector('[data-testid=lr-plot]')?.getAttribute('data-markers') ?? '[]');
      const valley = document.querySelector('[data-testid=suggestion-valley]')?.textContent ?? '';
      return { ok: markers.length > 0 && /e-?\d/.test(valley), markers, valley, status: document.querySelector('[data-testid=status]')?.textContent };
    },
    'suggestion markers',
  );
  assert.match(done.status, /^completed/, done.status);
  console.log(`    LR finder: ${done.markers.map((m) => `${m.name} ${m.lr.toExponential(2)}`).join(', ')}`);
  await themed(page, workspace, outDir, 'lr-finder', 'lrFinder');

  // Fit One Cycle…: 1 epoch, max lr pre-filled from the finder; the training panel fills live.
  await palette(page, 'Image Trainer: Fit One Cycle');
  await quickInput(page, 'epochs', { value: '2' });
  await quickInput(page, 'max learning rate');
  const growing = await waitInFrame(
    page,
    'training',
    () => {
      const rows = document.querySelectorAll('[data-testid=epoch-rows] tr').length;
      const batch = document.querySelector('[data-testid=batch-progress]')?.textContent ?? '';
      const status = document.querySelector('[data-testid=status]')?.textContent;
      return { ok: /^\d+\/\d+/.test(batch) && Number(batch.split('/')[0]) > 0, rows, batch, status };
    },
    'batch progress',
  );
  console.log(`    training live: batch ${growing.batch}, ${growing.rows} rows`);
  const fitted = await waitInFrame(
    page,
    'training',
    () => {
      const rows = [...document.querySelectorAll('[data-testid=epoch-rows] tr')].map((tr) => [...tr.cells].map((c) => c.textContent));
      const snap = window.imageTrainerPanel?.view.snapshot();
      const status = document.querySelector('[data-testid=status]')?.textContent;
      return { ok: rows.length === 2 && status === 'completed', rows, status, epochs: snap?.run?.epochRows ?? [] };
    },
    'two epoch rows and completed',
  );
  for (const r of fitted.rows) assert.match(r.slice(0, 4).join(' '), /^\d \d+\.\d{6} \d+\.\d{6} \d\.\d{6}$/, r.join(' '));
  // the table shows exactly the epoch events the page received
  assert.deepStrictEqual(fitted.rows.map((r) => r[2]), fitted.epochs.map((e) => e.validLoss.toFixed(6)));
  console.log(`    training table: ${fitted.rows.map((r) => r.join(' ')).join(' | ')}`);
  await themed(page, workspace, outDir, 'training', 'training');

  // Show Dataset: the show_batch grid (data: thumbnails) and the class counts.
  await palette(page, 'Image Trainer: Show Dataset');
  const ds = await waitInFrame(
    page,
    'dataset',
    () => {
      const imgs = [...document.querySelectorAll('[data-testid=batch-grid] img')];
      return { ok: imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0), images: imgs.length, classes: document.querySelector('[data-testid=class-count]')?.textContent };
    },
    'the sample grid with loaded images',
  );
  assert.strictEqual(ds.classes, '3 (data.c)');
  console.log(`    dataset: ${ds.images} images shown, ${ds.classes}`);
  await themed(page, workspace, outDir, 'dataset', 'dataset');

  // Interpret: images come from the dataset folder through asWebviewUri under the panel's CSP.
  await palette(page, 'Image Trainer: Interpret');
  const interp = await waitInFrame(
    page,
    'interpretation',
    () => {
      const imgs = [...document.querySelectorAll('[data-testid=top-losses] img')];
      return {
        ok: imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0),
        images: imgs.length,
        src: imgs[0]?.getAttribute('src'),
        titles: [...document.querySelectorAll('[data-testid=top-losses] figcaption')].slice(0, 3).map((f) => f.textContent),
      };
    },
    'top-loss images loaded from the dataset folder',
  );
  // a webview resource URI (asWebviewUri), never a file: path or an inlined copy
  assert.match(interp.src, /^(https?|vscode-[\w-]+):\/\//, interp.src);
  for (const t of interp.titles) assert.match(t, /^\w+\/\w+\/\d+\.\d{2}\/\d\.\d{2}$/, t);
  console.log(`    interpretation: ${interp.images} top-loss images, e.g. ${interp.titles.join(', ')}`);
  // Click the first non-empty confusion cell: its images are listed.
  const frame = await panelFrame(page, 'interpretation');
  const cell = frame.locator('[data-testid=confusion] td.cell', { hasNotText: /^0$/ }).first();
  await cell.click();
  const listed = await frame.locator('[data-testid=cell-items] figure').count();
  assert.strictEqual(String(listed), (await cell.textContent()).trim());
  // Relabel the top loss as its predicted class: the trainer's cleaner moves the file; the badge shows it.
  const first = frame.locator('[data-testid=top-losses] figure').first();
  const predicted = (await first.locator('figcaption').textContent()).split('/')[0];
  await first.locator('select').selectOption(predicted);
  await first.locator('[data-testid=relabel]').click();
  await frame.locator('[data-testid=top-losses] figure').first().locator('.badge', { hasText: `→ ${predicted}` }).waitFor({ timeout: 30000 });
  await themed(page, workspace, outDir, 'interpretation', 'interpretation');

  // Compare Runs: the fit's curves and metrics.
  await palette(page, 'Image Trainer: Compare Runs');
  const cmp = await waitInFrame(
    page,
    'runComparison',
    () => {
      const cols = document.querySelectorAll('[data-testid=metrics] thead th').length;
      return { ok: cols >= 2 && !!document.querySelector('[data-testid=comparison-plot] canvas'), cols };
    },
    'the comparison table and plot',
  );
  console.log(`    run comparison: ${cmp.cols - 1} run(s)`);
  await themed(page, workspace, outDir, 'run-comparison', 'runComparison');
};

// written by the harness before the window opens, so Open Dataset never sees the defaults
module.exports.workspaceSettings = SETTINGS;
