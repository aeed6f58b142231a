import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where the browser tests save screenshots (git-ignored; CI keeps them as artifacts). */
export const artifactsDir = `${root}artifacts`;

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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh context (profile) at a viewport, with the page's console errors collected. */
export async function openPage(browser: Browser, url: string, options: { viewport?: keyof typeof viewports; context?: BrowserContext } = {}): Promise<Page> {
  const context = options.context ?? (await browser.newContext({ viewport: viewports[options.viewport ?? 'desktop'], reducedMotion: 'reduce' }));
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** Collects uncaught page errors, so a test can assert the page ran cleanly. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** Saves a full-page screenshot to artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const path = `${artifactsDir}/${name}.png`;
  await page.screenshot({ path, fullPage: false });
  return path;
}
