import type { TestProject } from 'vitest/node';
import { TEST_ABLY_KEY } from '../ably-key.ts';
import { startAblyRestStub } from './ably-rest-stub.ts';
import { readDevVars } from './dev-vars.ts';
import { startPusherApiStub } from './pusher-api-stub.ts';
import { startSupabaseAuthStub } from './supabase-auth-stub.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pusherApiStubPort: number;
    ablyRestStubPort: number;
    supabaseAuthStubPort: number;
    webhookReceiverPort: number;
  }
}

/** Starts the Node-side servers the workerd tests reach over loopback. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const vars = readDevVars();
  const stub = await startPusherApiStub({ key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! });
  project.provide('pusherApiStubPort', stub.port);
  const ably = await startAblyRestStub(TEST_ABLY_KEY);
  project.provide('ablyRestStubPort', ably.port);
  const auth = await startSupabaseAuthStub();
  project.provide('supabaseAuthStubPort', auth.port);
  const webhooks = await startWebhookReceiver();
  project.provide('webhookReceiverPort', webhooks.port);
  return async () => {
    await Promise.all([stub.close(), ably.close(), auth.close(), webhooks.close()]);
  };
}
