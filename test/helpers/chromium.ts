// Debian's chromium, headless, for the browser tests and the panel bench: one launch with the flags
// that keep it offline and quiet, and the one skip for a machine without it (a failure under CI=true).
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { requires } from './requires';

export const CHROMIUM = '/usr/bin/chromium';

/** node:test's `skip` for tests that need chromium. */
export const needsChromium = requires(fs.existsSync(CHROMIUM), CHROMIUM, 'apt-get install chromium');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
