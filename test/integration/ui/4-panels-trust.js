// Panels a person can trust (issue 11), in the installed .vsix: a Grad-CAM overlay is a real image
// that differs from the plain one; a panel hidden behind another tab has its content when shown
// again; after a window reload the panels that were open come back with their content, and a run
// clicked in the Runs view draws from its saved record (its lr_find curve, its epoch rows).
const assert = require('assert');
const path = require('path');
const sharp = require('sharp');
const w = require('./lib/workbench');

const SETTINGS = { 'imageTrainer.size': 32, 'imageTrainer.batchSize': 4, 'imageTrainer.defaultArch': 'resnet18', 'workbench.colorTheme': 'Default Dark Modern' };

const lrDone = () => {
  const plot = document.querySelector('[data-testid=lr-plot]');
  const markers = JSON.parse(plot?.getAttribute('data-markers') ?? '[]');
  const points = Number(plot?.getAttribute('data-points') ?? 0);
  return { ok: markers.length > 0 && points > 5, points, markers: markers.length, status: document.querySelector('[data-testid=status]')?.textContent };
};
const fitDone = () => {
  const rows = document.querySelectorAll('[data-testid=epoch-rows] tr').length;
  const status = document.querySelector('[data-testid=status]')?.textContent;
  const points = window.imageTrainerPanel?.view.summary?.().points ?? 0;
  return { ok: rows === 1 && status === 'completed' && points > 0, rows, status, points, title: document.querySelector('h1')?.textContent };
};
const topLossesLoaded = () => {
  const imgs = [...document.querySelectorAll('[data-testid=top-losses] img:not(.gradcam)')];
  return { ok: imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0), images: imgs.length };
};

/** The overlay's pixels (drawn at 32×32) and how colourful they are; a broken image reports naturalWidth 0. */
const overlayPixels = () => {
  const cams = [...document.querySelectorAll('[data-testid=top-losses] img.gradcam')];
  if (!cams.length) return { ok: false, cams: 0 };
  const img = cams[0];
  if (!img.complete) return { ok: false, cams: cams.length, loading: true };
  if (img.naturalWidth === 0) return { ok: false, cams: cams.length, broken: true, src: img.getAttribute('src').slice(0, 48) };
  const c = document.createElement('canvas');
  c.width = 32;
  c.height = 32;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 32, 32);
  const px = [...g.getImageData(0, 0, 32, 32).data];
  const file = img.closest('figure').getAttribute('data-file');
  return { ok: true, cams: cams.length, file, px, width: img.naturalWidth };
};

module.exports = async function panelsTrust({ page, outDir, workspace }) {
  const data = path.join(workspace, 'fashion');
  w.writeDataset(data);
  await w.openDatasetFromFolders(page, data);
  await w.createLearner(page);

  await w.palette(page, 'Image Trainer: Find Learning Rate');
  const lr = await w.waitInFrame(page, 'lrFinder', lrDone, 'the LR-finder curve and suggestions');
  console.log(`    lr_find: ${lr.points} points, ${lr.markers} markers`);

  // One next max lr: the valley suggestion first, then the one picked on the plot, the same in the
  // panel, the sidebar and the Fit One Cycle prompt, and still the same after the fit.
  const suggested = await w.waitInFrame(page, 'lrFinder', () => ({ ok: /valley/.test(document.querySelector('[data-testid=chosen-source]')?.textContent ?? ''), value: document.querySelector('[data-testid=chosen-value]')?.textContent }), 'the valley suggestion as the next max lr', 30000);
  const sidebarLr = (value) => page.locator('.sidebar .monaco-list-row', { hasText: 'Learning rate' }).filter({ hasText: value }).first().waitFor({ timeout: 30000 });
  await w.showSidebar(page, 'Learner');
  await sidebarLr(suggested.value);
  await (await w.panelFrame(page, 'lrFinder')).locator('[data-testid=suggestion-minGrad]').click();
  const picked = await w.waitInFrame(page, 'lrFinder', () => ({ ok: /picked/.test(document.querySelector('[data-testid=chosen-source]')?.textContent ?? ''), value: document.querySelector('[data-testid=chosen-value]')?.textContent }), 'the picked max lr', 30000);
  await sidebarLr(picked.value);

  await w.palette(page, 'Image Trainer: Fit One Cycle');
  await w.quickInput(page, 'epochs', { value: '1' });
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'max learning rate' }).first().waitFor({ timeout: 60000 });
  const prefilled = await page.locator('.quick-input-widget input').inputValue();
  assert.strictEqual(prefilled, picked.value, `the prompt pre-fills the max lr shown in the panel and the sidebar (${picked.value})`);
  await page.keyboard.press('Enter');
  const fit = await w.waitInFrame(page, 'training', fitDone, 'one epoch row, completed');
  await sidebarLr(picked.value); // used by the fit, still the next one: nothing silently replaced it
  console.log(`    next max lr: valley ${suggested.value}, then picked ${picked.value}: panel = sidebar = prompt, kept after the fit`);
  console.log(`    fit: ${fit.rows} row, ${fit.points} points`);
  // tabs in one column: the LR finder and training panels share the column beside the editor
  const groups = await page.locator('.editor-group-container').count();
  assert.ok(groups <= 2, `panels open as tabs in one column beside the editor (${groups} editor groups)`);

  // Grad-CAM: the overlay is a PNG the page can load, and it is not the plain image.
  await w.palette(page, 'Image Trainer: Interpret');
  await w.waitInFrame(page, 'interpretation', topLossesLoaded, 'top-loss images');
  const interp = await w.panelFrame(page, 'interpretation');
  await interp.locator('[data-testid=gradcam]').click();
  const cam = await w.waitInFrame(page, 'interpretation', overlayPixels, 'a loaded Grad-CAM overlay (a broken image means a bad data URL)', 120000);
  const plain = await sharp(cam.file).resize(32, 32, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  let diff = 0;
  let colour = 0;
  for (let i = 0; i < 32 * 32; i++) {
    for (let k = 0; k < 3; k++) diff += Math.abs(cam.px[i * 4 + k] - plain[i * 3 + k]);
    colour += Math.abs(cam.px[i * 4] - cam.px[i * 4 + 2]);
  }
  diff /= 32 * 32 * 3;
  colour /= 32 * 32;
  console.log(`    Grad-CAM overlay ${cam.width}px over ${path.basename(cam.file)}: mean |overlay − plain| ${diff.toFixed(1)}, mean |R − B| ${colour.toFixed(1)} (the plain image is grey)`);
  assert.ok(diff > 8, `the overlay differs from the plain image (mean abs diff ${diff.toFixed(2)})`);
  // At 32 px resnet18's last conv block is 1×1: the map is one value, and the page says so with the fix.
  const why = await w.waitInFrame(page, 'interpretation', () => {
    const t = document.querySelector('[data-testid=notice]')?.textContent ?? '';
    return { ok: /cannot show where the model looked: the last conv block is 1×1/.test(t), text: t };
  }, 'the note that a 1×1 Grad-CAM cannot localise', 30000);
  console.log(`    notice: ${why.text.slice(0, 120)}`);
  await page.screenshot({ path: path.join(outDir, 'trust-gradcam.png') });

  // Hidden, then shown: each tab's page is destroyed while hidden and must draw again when shown.
  for (let round = 0; round < 2; round++) {
    await w.showTab(page, 'Image Trainer: Training');
    await w.waitInFrame(page, 'training', fitDone, `training panel content after being hidden (round ${round + 1})`, 150000);
    await w.showTab(page, 'Image Trainer: Learning Rate Finder');
    await w.waitInFrame(page, 'lrFinder', lrDone, `LR-finder content after being hidden (round ${round + 1})`, 150000);
    await w.showTab(page, 'Image Trainer: Interpretation');
    await w.waitInFrame(page, 'interpretation', topLossesLoaded, `interpretation content after being hidden (round ${round + 1})`, 150000);
  }
  console.log('    hidden-then-shown: training, LR finder and interpretation tabs draw again');

  // Reload the window: the open panels come back (WebviewPanelSerializer) with their content.
  await w.showTab(page, 'Image Trainer: Training');
  await w.waitInFrame(page, 'training', fitDone, 'training before reload', 150000);
  await page.waitForTimeout(1000); // the page saves its state (debounced 400 ms)
  await page.reload();
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.locator('.tabs-container .tab', { hasText: 'Image Trainer: Training' }).first().waitFor({ timeout: 60000 });
  await w.showTab(page, 'Image Trainer: Training');
  const restored = await w.waitInFrame(page, 'training', fitDone, 'the restored training panel with its run', 90000);
  console.log(`    after reload: training panel restored, ${restored.rows} row, ${restored.points} points (${restored.title})`);
  await w.showTab(page, 'Image Trainer: Learning Rate Finder');
  await w.waitInFrame(page, 'lrFinder', lrDone, 'the restored LR-finder panel', 60000);
  await w.showTab(page, 'Image Trainer: Interpretation');
  await w.waitInFrame(page, 'interpretation', topLossesLoaded, 'the restored interpretation panel (images from the dataset folder)', 60000);
  await page.screenshot({ path: path.join(outDir, 'trust-after-reload.png') });

  // A run clicked in the Runs view after the reload draws from its saved record.
  await w.palette(page, 'View: Close All Editors');
  await page.waitForFunction(() => !document.querySelector('.tabs-container .tab'), null, { timeout: 15000 }).catch(() => undefined);
  await w.showSidebar(page, 'Runs');
  await page.locator('.sidebar .monaco-list-row', { hasText: 'lr_find' }).first().click();
  const lr2 = await w.waitInFrame(page, 'lrFinder', lrDone, 'the lr_find run clicked after reload', 60000);
  await page.locator('.sidebar .monaco-list-row', { hasText: 'fit_one_cycle' }).first().click();
  const fit2 = await w.waitInFrame(page, 'training', fitDone, 'the fit run clicked after reload', 60000);
  console.log(`    Runs view after reload: lr_find ${lr2.points} points, fit ${fit2.rows} row and ${fit2.points} curve points`);
  await page.screenshot({ path: path.join(outDir, 'trust-run-after-reload.png') });
};

module.exports.workspaceSettings = SETTINGS;
