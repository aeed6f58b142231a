// Bindings that only the workerd test project adds (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    PUSHER_API_STUB_PORT: string;
    ABLY_REST_STUB_PORT: string;
    SUPABASE_AUTH_STUB_PORT: string;
    WEBHOOK_RECEIVER_PORT: string;
    REALTIME_APPS: string;
  }
}
