import { describe, expect, it, vi } from 'vitest';
import { MAX_SIGNATURES, verifyWebhookSignature } from '../../../functions/observe/signature.ts';

const secret = 'observe-test-secret';
const body = '{"type":"INSERT"}';

async function sign(timestamp: string, text: string, key = secret): Promise<string> {
  const hmac = await crypto.subtle.importKey('raw', new TextEncoder().encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const bytes = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, new TextEncoder().encode(`${timestamp}.${text}`)));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

describe('the database webhook signature', () => {
  const now = new Date('2026-12-03T10:00:00Z');
  const timestamp = String(Math.floor(now.getTime() / 1000));

  it('accepts a signature by the current or the previous secret, as during a rotation', async () => {
    const header = `v1=${await sign(timestamp, body, 'previous-secret')}, v1=${await sign(timestamp, body)}`;
    await expect(verifyWebhookSignature(secret, { timestamp, signature: header }, body, now)).resolves.toBeUndefined();
  });

  it('refuses a header with more candidates than a rotation needs, before computing anything', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign');
    try {
      const header = Array.from({ length: 500 }, () => `v1=${'ab'.repeat(32)}`).join(',');
      await expect(verifyWebhookSignature(secret, { timestamp, signature: header }, body, now)).rejects.toThrow(
        `X-Tidings-Signature has 500 v1= signatures: at most ${MAX_SIGNATURES} (one per secret being rotated)`,
      );
      expect(sign).not.toHaveBeenCalled();
    } finally {
      sign.mockRestore();
    }
  });

  it('computes one HMAC however many candidates it compares', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign');
    try {
      const header = Array.from({ length: MAX_SIGNATURES }, () => `v1=${'cd'.repeat(32)}`).join(',');
      await expect(verifyWebhookSignature(secret, { timestamp, signature: header }, body, now)).rejects.toThrow(/does not match the body/);
      expect(sign).toHaveBeenCalledTimes(1);
    } finally {
      sign.mockRestore();
    }
  });
});
