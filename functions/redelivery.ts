/**
 * The Cron Trigger: publishes rows that the database webhook did not deliver, because pg_net
 * sends each request at most once and never retries.
 */
export async function redeliver(controller: ScheduledController, _env: Env): Promise<void> {
  console.log(JSON.stringify({ level: 'debug', msg: 'redelivery run', cron: controller.cron }));
}
