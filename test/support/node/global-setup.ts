import type { TestProject } from 'vitest/node';
import { readDevVars } from './dev-vars.ts';
import { startPusherApiStub } from './pusher-api-stub.ts';
import { startSupabaseAuthStub } from './supabase-auth-stub.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pusherApiStubPort: number;
    supabaseAuthStubPort: number;
    webhookReceiverPort: number;
  }
}

/** Starts the Node-side servers the workerd tests reach over loopback. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const vars = readDevVars();
  const stub = await startPusherApiStub({ key: vars.PUSHER_APP_KEY!, secret: vars.PUSHER_APP_SECRET! });
  project.provide('pusherApiStubPort', stub.port);
  const auth = await startSupabaseAuthStub();
  project.provide('supabaseAuthStubPort', auth.port);
  const webhooks = await startWebhookReceiver();
  project.provide('webhookReceiverPort', webhooks.port);
  return async () => {
    await Promise.all([stub.close(), auth.close(), webhooks.close()]);
  };
}
