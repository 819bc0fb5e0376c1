// The panels in a real VS Code, driven as a user would: from the palette open a real image
// folder (the Open Dataset wizard), create a resnet18, Find Learning Rate, then Fit One Cycle; read
// the LR-finder and training panels inside their webview iframes while the data arrives, and keep
// screenshots of every panel in the dark and light themes, at 1400×900 and in a 700 px column
// (.test-output/ui/screenshots/), each checked for overflow and overlap.
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

/**
 * What is wrong with the panel page's layout, measured in its webview frame: horizontal scrolling
 * (of the page or of anything inside it), an element reaching outside the viewport (unless an
 * ancestor clips it), and overlapping boxes (plots, legends, tables, grids, headings, tiles).
 */
const layoutProbe = () => {
  const out = [];
  const doc = document.documentElement;
  const vw = doc.clientWidth;
  const name = (el) => {
    const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    const tid = el.getAttribute('data-testid');
    const card = el.closest('.card')?.querySelector('h2')?.textContent;
    return `${el.tagName.toLowerCase()}${cls}${tid ? `[${tid}]` : ''}${card ? ` in "${card.slice(0, 40)}"` : ''}`;
  };
  const clippedBy = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (window.getComputedStyle(p).overflowX !== 'visible') return p;
    return null;
  };
  if (doc.scrollWidth > vw + 1) out.push(`page scrolls sideways: ${doc.scrollWidth} > ${vw}`);
  const all = [...document.body.querySelectorAll('*')];
  let outside = 0;
  for (const el of all) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || (r.right <= vw + 1 && r.left >= -1)) continue;
    if (clippedBy(el)) continue;
    if (outside++ < 6) out.push(`${name(el)} reaches ${Math.round(r.left)}..${Math.round(r.right)} px, outside the ${vw} px viewport`);
  }
  for (const el of all) {
    const o = window.getComputedStyle(el).overflowX;
    if ((o === 'auto' || o === 'scroll') && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
  }
  const boxes = [...document.querySelectorAll('.u-wrap, .u-legend, table, .grid, .bars, .progress, h1, h2, .toolbar, .legend, .suggestions, figure, .notice, .kv, .empty')]
    .map((el) => ({ el, r: el.getBoundingClientRect() }))
    .filter(({ r }) => r.width > 0 && r.height > 0);
  let overlaps = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 1 && h > 1 && overlaps++ < 6) out.push(`${name(a.el)} and ${name(b.el)} overlap by ${Math.round(w)}×${Math.round(h)} px`);
    }
  return out;
};

/**
 * Screenshots of the panel in dark and light, at 1400×900, at its full length (a window tall
 * enough that the panel does not scroll) and in a 700 px-wide column, also at its full length, kept in
 * .test-output/ui/screenshots/<panel>-<theme>-<1400x900|full|700col|700col-full>.png, each measured by layoutProbe;
 * what it finds goes to `problems` (asserted once every panel has its screenshots). Back to dark
 * and 1400×900 afterwards.
 */
async function themed(page, workspace, outDir, name, kind, problems) {
  const shots = path.join(outDir, 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  // toasts are VS Code's, not the panel's: out of the way; and the codicons drawn before the first shot
  await palette(page, 'Notifications: Clear All Notifications').catch(() => undefined);
  await (await panelFrame(page, kind)).evaluate(() => document.fonts.ready.then(() => true));
  const found = [];
  const probe = async (label) => found.push(...(await (await panelFrame(page, kind)).evaluate(layoutProbe)).map((p) => `${label}: ${p}`));
  // the whole page, not only its top: a window tall enough that nothing in the panel scrolls, then back
  const atFullLength = async (file, label, clipToPanel) => {
    const below = await (await panelFrame(page, kind)).evaluate(() => Math.max(0, document.documentElement.scrollHeight - window.innerHeight));
    if (below === 0) return;
    const { width, height } = page.viewportSize();
    await page.setViewportSize({ width, height: Math.min(height + below + 40, 8000) });
    await page.waitForTimeout(600);
    const clip = clipToPanel ? await webviewBox(page, kind) : null;
    await page.screenshot({ path: path.join(shots, file), ...(clip ? { clip } : {}) });
    await probe(label);
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(300);
  };
  for (const theme of ['Default Dark Modern', 'Default Light Modern']) {
    await setTheme(page, workspace, theme);
    const t = theme.includes('Light') ? 'light' : 'dark';
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(shots, `${name}-${t}-1400x900.png`) });
    await probe(`${t} 1400x900`);
    await atFullLength(`${name}-${t}-full.png`, `${t} full length`, false);
    // a 700 px-wide column: resize the window until the panel's column is 700 px wide
    const box = await webviewBox(page, kind);
    if (box) {
      await page.setViewportSize({ width: Math.max(760, Math.round(1400 - (box.width - 700))), height: 900 });
      await page.waitForTimeout(800); // plots follow their container (ResizeObserver)
      const narrow = (await webviewBox(page, kind)) ?? box;
      await page.screenshot({ path: path.join(shots, `${name}-${t}-700col.png`), clip: narrow });
      await probe(`${t} ${Math.round(narrow.width)} px column`);
      // and the column's whole length: a narrow panel wraps into a longer page than the wide one
      await atFullLength(`${name}-${t}-700col-full.png`, `${t} ${Math.round(narrow.width)} px column, full length`, true);
    }
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await setTheme(page, workspace, 'Default Dark Modern');
  console.log(`    ${name}: screenshots in ${path.relative(process.cwd(), shots)}, ${found.length ? `${found.length} layout problem(s)` : 'nothing overflows or overlaps'}`);
  for (const p of found) console.log(`      ${p}`);
  problems.push(...found.map((p) => `${name} ${p}`));
}

module.exports = async function panels({ page, outDir, workspace }) {
  const problems = [];
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
      const status = document.querySelector('[data-testid=status]')?.textContent ?? '';
      // the suggestions can arrive a moment before the run's end
      return { ok: markers.length > 0 && /e-?\d/.test(valley) && /^completed/.test(status), markers, valley, status };
    },
    'suggestion markers',
  );
  assert.match(done.status, /^completed/, done.status);
  console.log(`    LR finder: ${done.markers.map((m) => `${m.name} ${m.lr.toExponential(2)}`).join(', ')}`);
  await themed(page, workspace, outDir, 'lr-finder', 'lrFinder', problems);

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
  await themed(page, workspace, outDir, 'training', 'training', problems);

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
  await themed(page, workspace, outDir, 'dataset', 'dataset', problems);

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
  // Grad-CAM on: the screenshots show the overlays
  await frame.locator('[data-testid=gradcam]').click();
  await waitInFrame(page, 'interpretation', () => {
    const cams = [...document.querySelectorAll('[data-testid=top-losses] img.gradcam')];
    return { ok: cams.length > 0 && cams.every((i) => i.complete && i.naturalWidth > 0), cams: cams.length };
  }, 'Grad-CAM overlays loaded', 180000);
  // one overlay per top loss before the screenshots (they come one at a time; a slow one is logged, not failed)
  const cams = await waitInFrame(page, 'interpretation', () => {
    const figs = document.querySelectorAll('[data-testid=top-losses] figure').length;
    const cams = [...document.querySelectorAll('[data-testid=top-losses] img.gradcam')].filter((i) => i.complete && i.naturalWidth > 0).length;
    return { ok: cams === figs, cams, figs };
  }, 'a Grad-CAM overlay on every top loss', 120000).catch((e) => ({ error: e.message }));
  console.log(`    Grad-CAM: ${cams.error ?? `${cams.cams} overlays on ${cams.figs} top losses`}`);
  await themed(page, workspace, outDir, 'interpretation', 'interpretation', problems);

  // Compare Runs: the fit's curves and metrics.
  // the runs of this dataset come pre-selected: Enter compares them (asked again if the pick was
  // closed before it showed, as a busy window can)
  for (let attempt = 1; ; attempt++) {
    await palette(page, 'Image Trainer: Compare Runs');
    const shown = await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Compare Runs' }).first().waitFor({ timeout: 20000 }).then(() => true, () => false);
    if (shown) break;
    if (attempt === 3) throw new Error('the Compare Runs pick never showed');
  }
  await page.keyboard.press('Enter');
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
  await themed(page, workspace, outDir, 'run-comparison', 'runComparison', problems);
  fs.writeFileSync(path.join(outDir, 'screenshots', 'layout-problems.txt'), problems.join('\n') + '\n');
  assert.deepStrictEqual(problems, [], 'no panel overflows or overlaps, in either theme, at 1400x900 or in a 700 px column');
};

// written by the harness before the window opens, so Open Dataset never sees the defaults
module.exports.workspaceSettings = SETTINGS;
