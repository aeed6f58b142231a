// The admins' delivery panel: whether every change reached the broadcaster (GET /api/delivery),
// the oldest pending one, the failed ones with their reasons and a Replay button each, and the
// last redelivery cron run. It refreshes every few seconds while the tab is visible.
import type { Api, DeliveryReport } from './api.ts';
import { byId, el, shortTime } from './dom.ts';
import { toast } from './toast.ts';

const REFRESH_MS = 5_000;

/** "45 s", "3 min", "2 h": how long ago, for a glance. */
export function age(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** Shows the panel and keeps it current; returns a function that stops it. */
export function startDeliveryPanel(api: Api): () => void {
  const panel = byId('delivery');
  const summary = byId('delivery-summary');
  const cron = byId('delivery-cron');
  const failedList = byId<HTMLUListElement>('delivery-failed');
  panel.hidden = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  function render(report: DeliveryReport): void {
    const pending = report.undelivered;
    summary.className = `delivery-summary${report.failed_count > 0 ? ' failing' : pending > 0 ? ' pending' : ''}`;
    const parts = [
      pending > 0
        ? `${pending.toLocaleString('en-US')} pending, the oldest for ${age(report.oldest_undelivered_age_seconds ?? 0)}`
        : // Failed entries were not delivered: "every change delivered" would say otherwise.
          report.failed_count > 0
          ? 'Nothing pending'
          : 'Every change delivered',
    ];
    if (report.failed_count > 0) parts.push(`${report.failed_count.toLocaleString('en-US')} failed`);
    summary.textContent = parts.join(' · ');
    const run = report.last_cron_run;
    cron.textContent = run
      ? `Last redelivery run ${shortTime(run.finished_at)}: ${run.published} published, ${run.failed} failed${run.error ? ` (${run.error})` : ''}`
      : 'No redelivery run yet';
    failedList.replaceChildren(
      ...report.failed.map((entry) => {
        const replay = el('button', { class: 'button ghost small', type: 'button' }, 'Replay');
        replay.addEventListener('click', async () => {
          replay.disabled = true;
          try {
            await api.replay([entry.id]);
            toast(`Queued ${entry.table} ${entry.operation.toLowerCase()} #${entry.id} again: the next redelivery run sends it.`, {
              tone: 'success',
            });
          } catch (error) {
            toast(`Could not replay #${entry.id}: ${(error as Error).message}`, { tone: 'error' });
          }
          void refresh();
        });
        return el(
          'li',
          { 'data-testid': 'delivery-failed-entry' },
          el(
            'span',
            {},
            `#${entry.id} ${entry.table} ${entry.operation} · ${entry.attempts} ${entry.attempts === 1 ? 'attempt' : 'attempts'} · ${shortTime(entry.failed_at)}`,
          ),
          el('span', { class: 'delivery-reason' }, entry.reason),
          replay,
        );
      }),
    );
  }

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      render(await api.delivery());
    } catch (error) {
      summary.className = 'delivery-summary failing';
      summary.textContent = `Delivery status unavailable: ${(error as Error).message}`;
    }
    if (!stopped) timer = setTimeout(() => void (document.hidden ? undefined : refresh()), REFRESH_MS);
  }

  const onVisible = () => {
    if (!document.hidden) void refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
    panel.hidden = true;
  };
}
