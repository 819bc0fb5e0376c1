// The activity-bar container: its icon opens the Dataset, Learner and Runs views, and the empty
// Dataset view offers Open Dataset.
const path = require('path');

module.exports = async function sidebar({ page, outDir }) {
  await page.keyboard.press('Escape');
  await page.click('.activitybar [aria-label*="Image Trainer"]');
  for (const title of ['Dataset', 'Learner', 'Runs']) {
    await page.locator('.sidebar .pane-header', { hasText: title }).first().waitFor({ timeout: 20000 });
  }
  await page.locator('.sidebar .welcome-view-content', { hasText: 'No dataset is open' }).first().waitFor({ timeout: 20000 });
  await page.locator('.sidebar .welcome-view-content .monaco-button', { hasText: 'Open Dataset' }).first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(outDir, 'sidebar.png') });
};
