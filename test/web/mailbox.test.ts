import { describe, expect, it } from 'vitest';
import type { Email } from '../../web/src/api.ts';
import { fromApi, fromEvent, Mailbox, sortsAbove, timeKey } from '../../web/src/mailbox.ts';

function apiEmail(id: string, created_at: string, overrides: Partial<Email> = {}): Email {
  return {
    id,
    sender_id: 's',
    sender_name: 'Ada',
    recipient_id: 'r',
    subject: `Subject ${id}`,
    body: `Body ${id}`,
    created_at,
    read_at: null,
    ...overrides,
  };
}

describe('the mailbox (web client state)', () => {
  it('keeps one entry per email id, however often it arrives', () => {
    const mailbox = new Mailbox();
    const email = apiEmail('a', '2026-11-28T09:00:00.000001+00:00');
    expect(mailbox.merge([fromApi(email)])).toHaveLength(1);
    expect(
      mailbox.merge([
        fromEvent({ id: 'a', sender_id: 's', sender_name: 'Ada', subject: 'Subject a', preview: 'Body a', created_at: email.created_at }),
      ]),
    ).toEqual([]);
    expect(mailbox.merge([fromApi(email)])).toEqual([]);
    expect(mailbox.size).toBe(1);
  });

  it('keeps the body it has when an event without one arrives again, and never un-reads', () => {
    const mailbox = new Mailbox();
    mailbox.merge([fromApi(apiEmail('a', '2026-11-28T09:00:00Z', { read_at: '2026-11-28T09:05:00Z' }))]);
    mailbox.merge([
      fromEvent({
        id: 'a',
        sender_id: 's',
        sender_name: 'Ada',
        subject: 'Subject a',
        preview: 'Body a',
        created_at: '2026-11-28T09:00:00Z',
      }),
    ]);
    expect(mailbox.get('a')).toMatchObject({ body: 'Body a', read_at: '2026-11-28T09:05:00Z' });
    expect(mailbox.unreadCount).toBe(0);
  });

  it('sorts rows written with created_at = infinity or -infinity first and last, and gives no cursor from them', () => {
    const mailbox = new Mailbox();
    mailbox.merge([
      fromApi(apiEmail('past', '-infinity')),
      fromApi(apiEmail('usual', '2026-11-28T09:00:00+00:00')),
      fromApi(apiEmail('future', 'infinity')),
    ]);
    expect(mailbox.list().map((email) => email.id)).toEqual(['future', 'usual', 'past']);
    // A catch-up's `after` and mark-all-read's `up_to` need a time the API accepts.
    expect(mailbox.newest()).toBe('2026-11-28T09:00:00+00:00');
    mailbox.delete('usual');
    expect(mailbox.newest()).toBeUndefined();
  });

  it('says which of two emails comes first as the API pages them: newer, then the greater id', () => {
    const at = '2026-11-28T09:00:00.5+00:00';
    expect(sortsAbove({ created_at: at, id: 'b' }, { created_at: at, id: 'a' })).toBe(true);
    expect(sortsAbove({ created_at: at, id: 'a' }, { created_at: at, id: 'b' })).toBe(false);
    expect(sortsAbove({ created_at: at, id: 'a' }, { created_at: at, id: 'a' })).toBe(false);
    expect(sortsAbove({ created_at: '2026-11-28T09:00:00.500001+00:00', id: 'a' }, { created_at: at, id: 'z' })).toBe(true);
  });

  it('orders newest first to the microsecond, as Postgres prints created_at', () => {
    const mailbox = new Mailbox();
    mailbox.merge([
      fromApi(apiEmail('first', '2026-11-28T09:00:00.123401+00:00')),
      fromApi(apiEmail('third', '2026-11-28T09:00:00.1235+00:00')),
      fromApi(apiEmail('second', '2026-11-28T09:00:00.123402+00:00')),
    ]);
    expect(mailbox.list().map((email) => email.id)).toEqual(['third', 'second', 'first']);
    expect(mailbox.newest()).toBe('2026-11-28T09:00:00.1235+00:00');
    expect(timeKey('2026-11-28T09:00:00Z')).toBeLessThan(timeKey('2026-11-28T09:00:00.000001Z'));
  });

  it('counts unread emails and follows read-state changes and deletions', () => {
    const mailbox = new Mailbox();
    mailbox.merge(['a', 'b', 'c'].map((id, n) => fromApi(apiEmail(id, `2026-11-28T09:00:0${n}Z`))));
    expect(mailbox.unreadCount).toBe(3);
    expect(mailbox.setReadAt('b', '2026-11-28T10:00:00Z')).toBe(true);
    expect(mailbox.setReadAt('unknown', '2026-11-28T10:00:00Z')).toBe(false);
    expect(mailbox.remove('c')).toBe(true);
    expect(mailbox.unreadCount).toBe(1);
    expect(mailbox.list().map((email) => email.id)).toEqual(['b', 'a']);
  });

  it('keeps a deleted email out when its email.received comes late, but lets a signed-out inbox load again', () => {
    const mailbox = new Mailbox();
    const event = { id: 'late', sender_id: 's', sender_name: 'Ada', subject: 'Gone', preview: 'Gone', created_at: '2026-11-28T09:00:00Z' };
    expect(mailbox.delete('late')).toBe(false);
    expect(mailbox.merge([fromEvent(event)])).toEqual([]);
    expect(mailbox.merge([fromApi(apiEmail('late', '2026-11-28T09:00:00Z'))])).toEqual([]);
    expect(mailbox.size).toBe(0);
    mailbox.merge([fromApi(apiEmail('kept', '2026-11-28T09:00:01Z'))]);
    expect(mailbox.remove('kept')).toBe(true);
    expect(mailbox.merge([fromApi(apiEmail('kept', '2026-11-28T09:00:01Z'))])).toHaveLength(1);
  });
});
