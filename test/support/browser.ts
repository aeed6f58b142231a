import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';

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

/**
 * Puts a switch between a context's pages and the realtime server: while it is off, open
 * WebSockets are closed and new ones refused, as when a laptop sleeps or Wi-Fi drops. Pages still
 * talk to the real server through it while it is on (Playwright proxies the frames).
 */
export async function realtimeSwitch(context: BrowserContext): Promise<{ off(): void; on(): void }> {
  let up = true;
  /** Page side → server side of every proxied socket. */
  const open = new Map<WebSocketRoute, WebSocketRoute>();
  await context.routeWebSocket(/\/app\/[^/?]+/, (ws) => {
    if (!up) return void ws.close({ code: 4100, reason: 'Network down (test)' });
    const server = ws.connectToServer();
    open.set(ws, server);
    // A page-side close handler turns off Playwright's forwarding, so pass the close on ourselves.
    ws.onClose((code, reason) => {
      open.delete(ws);
      void server.close(code ? { code, reason: reason ?? '' } : {});
    });
  });
  return {
    off() {
      up = false;
      for (const [page, server] of open) {
        void page.close({ code: 4100, reason: 'Network down (test)' });
        void server.close({});
      }
      open.clear();
    },
    on() {
      up = true;
    },
  };
}
