// Headless Chromium for the browser tests and the web client's benchmark: Debian's, never a
// downloaded one. No test-runner imports, so benchmarks run it under plain Node too.
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: the tests never download a browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Viewports the screenshots are taken at. */
export const viewports = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/**
 * Launches headless Chromium. Each `newContext` is a fresh, isolated profile (its own storage,
 * cookies and cache), so two contexts are two different people on two different computers.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
