import { describe, expect, it } from 'vitest';
import { normaliseIssues } from '../../web/src/api.ts';
import { validateDraft } from '../../web/src/compose.ts';

describe('validation issues shown next to compose fields', () => {
  it("reads the Worker's issue list (dotted paths), zod issue lists and field records from a 400 body", () => {
    expect(
      normaliseIssues([
        { path: 'recipient_ids.0', message: 'Invalid UUID' },
        { path: 'subject', message: 'Too big' },
        { path: '', message: 'Bad body' },
      ]),
    ).toEqual([
      { field: 'recipient_ids', message: 'Invalid UUID' },
      { field: 'subject', message: 'Too big' },
      { field: '', message: 'Bad body' },
    ]);
    expect(
      normaliseIssues([
        { path: ['subject'], message: 'Too big' },
        { path: ['recipient_ids', 0], message: 'Invalid UUID' },
      ]),
    ).toEqual([
      { field: 'subject', message: 'Too big' },
      { field: 'recipient_ids', message: 'Invalid UUID' },
    ]);
    expect(normaliseIssues({ body: ['Too long', 'Still too long'], subject: 'Required' })).toEqual([
      { field: 'body', message: 'Too long' },
      { field: 'body', message: 'Still too long' },
      { field: 'subject', message: 'Required' },
    ]);
    expect(normaliseIssues(undefined)).toEqual([]);
  });

  it("keeps the value an issue names (an unknown recipient's id), and drops one that is not text", () => {
    expect(
      normaliseIssues([
        { path: 'recipient_ids', message: 'No user has the id x (any more).', value: 'x' },
        { path: 'subject', message: 'Bad', value: 3 },
      ]),
    ).toEqual([
      { field: 'recipient_ids', message: 'No user has the id x (any more).', value: 'x' },
      { field: 'subject', message: 'Bad' },
    ]);
  });

  it('checks a draft against the contract limits before sending', () => {
    expect(validateDraft({ recipient_ids: ['a'], subject: 'Hello', body: '' })).toEqual([]);
    expect(validateDraft({ recipient_ids: [], subject: '  ', body: 'x'.repeat(20_001) }).map((issue) => issue.field)).toEqual([
      'recipient_ids',
      'subject',
      'body',
    ]);
    expect(validateDraft({ recipient_ids: ['a'], subject: 'x'.repeat(201), body: '' })).toEqual([
      { field: 'subject', message: 'Keep the subject to at most 200 characters (it has 201).' },
    ]);
    // Counted as the Worker counts: characters (an emoji is one, not two UTF-16 units), after trimming.
    expect(validateDraft({ recipient_ids: ['a'], subject: '📬'.repeat(200), body: '📬'.repeat(20_000) })).toEqual([]);
    expect(validateDraft({ recipient_ids: ['a'], subject: `  ${'x'.repeat(200)}  `, body: '' })).toEqual([]);
    expect(validateDraft({ recipient_ids: Array.from({ length: 101 }, (_, n) => String(n)), subject: 'Hi', body: '' })[0]?.field).toBe(
      'recipient_ids',
    );
  });
});
