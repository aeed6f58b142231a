// The web client with a large inbox, in headless Chromium, run by `npm run bench` (loopback only,
// bounded, nothing asserted): Ada's inbox holds INBOX_SIZE emails. Measured:
//   1. time from navigation to the first inbox row, and to the true unread count in the badge
//      (page already signed in, as after a reload), over REPEATS reloads;
//   2. memory and DOM size at first render, and after scrolling to the very end (every page of
//      50 loaded), with a garbage collection before each reading;
//   3. smoothness: frame intervals while the list scrolls from top to bottom through all emails.
// The stack is the real one (local Supabase, the Worker under wrangler dev); the numbers are the
// page's own, so the server's speed matters only for how long pages take to arrive.
import type { Page } from 'playwright-core';
import { printTable, writeResults } from '../support/bench/report.ts';
import { percentile, round, spread } from '../support/bench/stats.ts';
import { launchBrowser, viewports } from '../support/node/chromium.ts';
import { startStack } from '../support/node/stack.ts';
import { seedUsers } from '../support/seed-users.ts';

const INBOX_SIZE = Number(process.env.BENCH_INBOX_SIZE ?? 10_000);
const REPEATS = 5;

const stack = await startStack({ workerVars: { LOG_LEVEL: 'warn' } });
const browser = await launchBrowser();
try {
  const db = await stack.supabase.connect();
  // A bulk load, not mail to announce: the observer's triggers stay quiet for it.
  await db.query('begin');
  await db.query('set local session_replication_role = replica');
  await db.query(
    `insert into public.emails (sender_id, recipient_id, subject, body, created_at)
     select $1, $2, 'Email ' || n, repeat('Body of email ' || n || '. ', 20), now() - ($3::int - n) * interval '1 second'
     from generate_series(1, $3::int) n`,
    [seedUsers.admin.id, seedUsers.ada.id, INBOX_SIZE],
  );
  await db.query('commit');

  const context = await browser.newContext({ viewport: viewports.desktop, reducedMotion: 'reduce' });
  // Marks when the first row and the true count appear, in the page's own clock (ms since navigation).
  await context.addInitScript((expected: string) => {
    const marks: Record<string, number> = {};
    (window as unknown as { benchMarks: Record<string, number> }).benchMarks = marks;
    new MutationObserver(() => {
      if (!marks.firstRow && document.querySelector('[data-testid="email-row"]')) marks.firstRow = performance.now();
      if (!marks.count && document.querySelector('[data-testid="unread-badge"]')?.textContent === expected) marks.count = performance.now();
    }).observe(document, { subtree: true, childList: true, characterData: true });
  }, INBOX_SIZE.toLocaleString('en-US'));
  const page = await context.newPage();
  await page.goto(stack.worker.url);
  await page.getByRole('textbox', { name: 'Email' }).fill(seedUsers.ada.email);
  await page.getByLabel('Password', { exact: true }).fill(seedUsers.ada.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('[data-testid="inbox-list"][aria-busy="false"]').waitFor({ timeout: 30_000 });

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  /** JS heap in use and DOM nodes, after a garbage collection. */
  const memory = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = (name: string) => metrics.find((entry) => entry.name === name)?.value ?? Number.NaN;
    return {
      heap_mb: round(metric('JSHeapUsedSize') / 2 ** 20),
      dom_nodes: metric('Nodes'),
      rows: await page.locator('[data-testid="email-row"]').count(),
      loaded: Number(await page.getByTestId('inbox-list').getAttribute('data-count')),
    };
  };
  const loadMarks = async (p: Page) => {
    await p.waitForFunction(() => {
      const marks = (window as unknown as { benchMarks?: Record<string, number> }).benchMarks;
      return marks?.firstRow !== undefined && marks.count !== undefined;
    });
    return p.evaluate(() => (window as unknown as { benchMarks: Record<string, number> }).benchMarks);
  };

  // 1. First render, signed in, as after a reload.
  const firstRow: number[] = [];
  const count: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    await page.reload();
    const marks = await loadMarks(page);
    firstRow.push(marks.firstRow!);
    count.push(marks.count!);
  }
  const atFirstRender = await memory();

  // 2. Scroll to the very end: every older page loads as the list nears its end.
  const loadAllStart = Date.now();
  await page.evaluate(async (size: number) => {
    const list = document.querySelector<HTMLElement>('[data-testid="inbox-list"]')!;
    while (Number(list.dataset.count) < size) {
      list.scrollTop = list.scrollHeight;
      await new Promise((resolve) => setTimeout(resolve, 16));
    }
  }, INBOX_SIZE);
  const loadAllSeconds = round((Date.now() - loadAllStart) / 1000);
  const afterAll = await memory();

  // 3. Frame intervals while scrolling through every email, 400 px a frame.
  const frames = await page.evaluate(async () => {
    const list = document.querySelector<HTMLElement>('[data-testid="inbox-list"]')!;
    list.scrollTop = 0;
    const intervals: number[] = [];
    let last = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
    while (list.scrollTop + list.clientHeight < list.scrollHeight - 1) {
      list.scrollTop += 400;
      const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
      intervals.push(now - last);
      last = now;
    }
    return intervals;
  });

  const results = {
    inbox_size: INBOX_SIZE,
    repeats: REPEATS,
    first_row_ms: spread(firstRow.map(round)),
    true_count_ms: spread(count.map(round)),
    at_first_render: atFirstRender,
    after_scrolling_to_the_end: { ...afterAll, seconds_to_load_every_page: loadAllSeconds },
    scroll: {
      frames: frames.length,
      p50_ms: round(percentile(frames, 50)),
      p95_ms: round(percentile(frames, 95)),
      max_ms: round(Math.max(...frames)),
      over_50_ms: frames.filter((interval) => interval > 50).length,
    },
  };
  printTable(
    `The web client with ${INBOX_SIZE.toLocaleString('en-US')} emails in the inbox, headless Chromium (min / median / max over ${REPEATS} reloads)`,
    [
      { figure: 'navigation → first inbox row, ms', value: results.first_row_ms },
      { figure: 'navigation → true unread count in the badge, ms', value: results.true_count_ms },
    ],
  );
  printTable('Memory and DOM (after a garbage collection)', [
    { when: 'first render (one page of 50)', ...atFirstRender },
    { when: `scrolled to the end (${afterAll.loaded} loaded, ${loadAllSeconds} s)`, ...afterAll },
  ]);
  printTable('Scrolling through every email, 400 px a frame: frame intervals', [results.scroll]);
  writeResults('web-client', results);
} finally {
  await browser.close();
  await stack.stop();
}
