// Admin compose: pick recipients from the user list, write, send; errors appear next to the field
// they belong to, whether the browser or the Worker found them.
import { characters, MAX_RECIPIENTS, TextLimits } from '../../functions/broadcast/events.ts';
import { type Api, ApiError, type FieldIssue, type User } from './api.ts';
import { byId, el } from './dom.ts';
import { toast } from './toast.ts';

/** The contract's limits, counted as the Worker and the database count (characters, not UTF-16 units). */
const SUBJECT_MAX = TextLimits.subject;
const BODY_MAX = TextLimits.emailBody;

/** The form fields, by the API's field names. */
const FIELD_ERRORS: Record<string, string> = {
  recipient_ids: 'compose-recipients-error',
  subject: 'compose-subject-error',
  body: 'compose-body-error',
};
const FIELD_INPUTS: Record<string, string> = {
  recipient_ids: 'recipient-filter',
  subject: 'compose-subject',
  body: 'compose-body',
};

/** What the browser can check before sending. */
export function validateDraft(draft: { recipient_ids: string[]; subject: string; body: string }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (draft.recipient_ids.length === 0) issues.push({ field: 'recipient_ids', message: 'Choose at least one recipient.' });
  if (draft.recipient_ids.length > MAX_RECIPIENTS)
    issues.push({ field: 'recipient_ids', message: `Choose at most ${MAX_RECIPIENTS} recipients.` });
  // The subject is sent trimmed, so it is counted trimmed; the message as it is.
  const subject = characters(draft.subject.trim());
  const body = characters(draft.body);
  if (subject === 0) issues.push({ field: 'subject', message: 'Write a subject.' });
  if (subject > SUBJECT_MAX)
    issues.push({ field: 'subject', message: `Keep the subject to at most ${SUBJECT_MAX} characters (it has ${subject}).` });
  if (body > BODY_MAX)
    issues.push({
      field: 'body',
      message: `Keep the message to at most ${BODY_MAX.toLocaleString('en-US')} characters (it has ${body.toLocaleString('en-US')}).`,
    });
  return issues;
}

/** Wires the compose dialog (shown to admins only; the Worker enforces the role). */
export function setUpCompose(api: Api): { open(): void } {
  const dialog = byId<HTMLDialogElement>('compose-dialog');
  const form = byId<HTMLFormElement>('compose-form');
  const list = byId<HTMLUListElement>('recipient-list');
  const filter = byId<HTMLInputElement>('recipient-filter');
  const subject = byId<HTMLInputElement>('compose-subject');
  const body = byId<HTMLTextAreaElement>('compose-body');
  const send = byId<HTMLButtonElement>('compose-send');
  const formError = byId('compose-error');
  let users: User[] = [];

  function showIssues(issues: FieldIssue[]): void {
    for (const [field, id] of Object.entries(FIELD_ERRORS)) {
      const messages = issues.filter((issue) => issue.field === field).map((issue) => issue.message);
      byId(id).textContent = messages.join(' ');
      byId(FIELD_INPUTS[field]!).toggleAttribute('aria-invalid', messages.length > 0);
    }
    const other = issues.filter((issue) => !(issue.field in FIELD_ERRORS));
    formError.textContent = other.map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message)).join(' ');
    const first = issues.find((issue) => issue.field in FIELD_INPUTS);
    if (first) byId(FIELD_INPUTS[first.field]!).focus();
  }

  /** A recipient the server does not know any more, named as the form listed them rather than by id. */
  function namingRecipients(issue: FieldIssue): FieldIssue {
    const user = issue.field === 'recipient_ids' && issue.value ? users.find((candidate) => candidate.id === issue.value) : undefined;
    return user ? { ...issue, message: `${user.display_name} (${user.email}) no longer has an account: untick them to send.` } : issue;
  }

  function chosen(): string[] {
    return Array.from(list.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')).map((box) => box.value);
  }

  function renderUsers(): void {
    const keep = new Set(chosen());
    const query = filter.value.trim().toLowerCase();
    const matches = users.filter((user) => !query || `${user.display_name} ${user.email}`.toLowerCase().includes(query));
    list.replaceChildren(
      ...matches.map((user) => {
        const id = `recipient-${user.id}`;
        return el(
          'li',
          { class: 'recipient' },
          el('input', { type: 'checkbox', id, value: user.id, checked: keep.has(user.id), 'data-testid': 'recipient' }),
          el(
            'label',
            { for: id },
            el('span', { class: 'recipient-name' }, user.display_name),
            el('span', { class: 'recipient-email' }, user.email),
          ),
        );
      }),
    );
    // Choices hidden by the filter still count: keep them as hidden checked boxes.
    for (const id of keep) {
      if (!matches.some((user) => user.id === id)) list.append(el('input', { type: 'checkbox', value: id, checked: true, hidden: true }));
    }
    if (matches.length === 0)
      list.append(el('li', { class: 'muted recipient-none' }, users.length === 0 ? 'Loading people…' : 'Nobody matches.'));
  }

  async function open(): Promise<void> {
    form.reset();
    showIssues([]);
    dialog.showModal();
    filter.focus();
    try {
      users = await api.users();
      renderUsers();
    } catch (error) {
      formError.textContent = `Could not load the people you can write to: ${(error as Error).message}`;
    }
  }

  filter.addEventListener('input', renderUsers);
  byId('recipient-all').addEventListener('click', () => {
    for (const box of Array.from(list.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:not([hidden])'))) box.checked = true;
  });
  for (const id of ['compose-close', 'compose-cancel']) byId(id).addEventListener('click', () => dialog.close());

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const draft = { recipient_ids: chosen(), subject: subject.value, body: body.value };
    const issues = validateDraft(draft);
    showIssues(issues);
    if (issues.length > 0) return;
    send.disabled = true;
    send.textContent = 'Sending…';
    try {
      const sent = await api.send({ ...draft, subject: draft.subject.trim() });
      dialog.close();
      const names = draft.recipient_ids.map((id) => users.find((user) => user.id === id)?.display_name ?? 'someone');
      toast(`Sent “${draft.subject.trim()}” to ${sent.length === 1 ? names[0] : `${sent.length} people`}.`, { tone: 'success' });
    } catch (error) {
      if (error instanceof ApiError && error.issues.length > 0) showIssues(error.issues.map(namingRecipients));
      else formError.textContent = (error as Error).message;
    } finally {
      send.disabled = false;
      send.textContent = 'Send';
    }
  });

  return { open: () => void open() };
}
