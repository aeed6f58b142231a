/**
 * Model declarations: Laravel's `BroadcastsEvents` for a table the database observes. Attach the
 * observer in a migration with one line of SQL, and declare here which event each change broadcasts:
 *
 * @example
 * // supabase/migrations/…_announcements.sql
 * select tidings.observe('public.announcements');
 * // functions/broadcast/model-events.ts
 * export const announcementModel = defineModel({
 *   table: 'public.announcements',
 *   row: z.object({ id: z.guid(), title: z.string(), body: z.string(), created_at: z.string() }),
 *   created: (row) => AnnouncementCreated.to(undefined, row),
 * });
 *
 * `row` is the schema of a row as delivery reads it (the table, or the view tidings.observe was
 * given as read_from); `deleted` gets the row as it was (the columns kept on delete), and
 * `updatedRow` may check less of an updated row than `row` does. Each handler
 * returns the messages to publish (`broadcastOn` and `broadcastAs` come from the event definition),
 * or null for none. A row that breaks its schema, or whose event cannot be built, makes the outbox
 * entry fail with the reason instead of being retried.
 */
import type { z } from 'zod';
import { errorMessage } from '../log.ts';
import type { BroadcastMessage } from './events.ts';

/** What a handler returns: one message, several, or none. */
type Messages = BroadcastMessage | BroadcastMessage[] | null;

/** A model declaration (see the module comment). */
export interface ModelDefinition<Row, OldRow, UpdatedRow> {
  /** The observed table, schema-qualified as Postgres prints it: `public.emails`. */
  table: string;
  /** A row as delivery reads it (the table, or tidings.observe's read_from view). */
  row: z.ZodType<Row>;
  /** A deleted row as the outbox kept it; `row` when not given. */
  deletedRow?: z.ZodType<OldRow>;
  /**
   * An updated row, when its events need less than `row` checks (e.g. only the read state): a
   * column an update does not broadcast then cannot make the update fail. `row` when not given.
   */
  updatedRow?: z.ZodType<UpdatedRow>;
  created?: (row: Row) => Messages;
  /** `changed` holds the broadcast columns whose value changed. */
  updated?: (row: UpdatedRow, changed: string[]) => Messages;
  /**
   * Several rows updated together (consecutive UPDATE entries with the same changed columns, up to
   * {@link MAX_ROWS_UPDATED_TOGETHER}: a mass `update ... set read_at`), broadcast in one go instead
   * of `updated` once per row. Rows come in entry order; a row changed twice appears twice, as it is
   * now both times. Optional: without it every row gets `updated`.
   */
  updatedTogether?: (rows: UpdatedRow[], changed: string[]) => Messages;
  deleted?: (old: OldRow) => Messages;
}

/** The most rows one call of `updatedTogether` gets. */
export const MAX_ROWS_UPDATED_TOGETHER = 100;

/** What several updates broadcast together: the messages, and the rows (by index) whose change cannot be built. */
export interface UpdatesTogether {
  messages: BroadcastMessage[];
  /** Index in the records given → why its event cannot be built; these rows are not in `messages`. */
  refused: Map<number, string>;
}

/** One change of an observed row, as the outbox entry and the database describe it. */
export interface ModelChange {
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  /** The row now (INSERT, UPDATE) or as it was (DELETE). */
  record: unknown;
  changedColumns: string[];
}

/** A declared model: what a change of its table broadcasts. */
export interface Model {
  readonly table: string;
  /**
   * The messages a change broadcasts (none when the model declares nothing for it).
   * @throws ModelEventError when the row breaks the model's schema or the event cannot be built.
   */
  messagesFor(change: ModelChange): BroadcastMessage[];
  /**
   * The messages of several UPDATEs with the same changed columns, together; absent when the model
   * declares no `updatedTogether`. Rows that break the schema are refused one by one.
   * @throws ModelEventError when the event of the rows together cannot be built.
   */
  readonly updatesTogether?: (records: unknown[], changedColumns: string[]) => UpdatesTogether;
}

/** A change whose event cannot be built: retrying would fail the same way. */
export class ModelEventError extends Error {
  override name = 'ModelEventError';
}

/** Declares a model; see the module comment. */
export function defineModel<Row, OldRow = Row, UpdatedRow = Row>(definition: ModelDefinition<Row, OldRow, UpdatedRow>): Model {
  /** The row, or why it does not match the model. */
  const check = <T>(schema: z.ZodType<T>, record: unknown, operation: string): { row: T } | { reason: string } => {
    const result = schema.safeParse(record);
    if (result.success) return { row: result.data };
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.message}`).join('; ');
    return { reason: `${definition.table} ${operation}: the row does not match the model (${issues})` };
  };
  const parse = <T>(schema: z.ZodType<T>, record: unknown, operation: string): T => {
    const checked = check(schema, record, operation);
    if ('reason' in checked) throw new ModelEventError(checked.reason);
    return checked.row;
  };
  const build = (operation: string, make: () => Messages): BroadcastMessage[] => {
    let messages: Messages;
    try {
      messages = make();
    } catch (error) {
      throw new ModelEventError(`${definition.table} ${operation}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return messages === null ? [] : Array.isArray(messages) ? messages : [messages];
  };
  const updatedRow = (definition.updatedRow ?? definition.row) as z.ZodType<UpdatedRow>;
  const model: Model = {
    table: definition.table,
    messagesFor({ operation, record, changedColumns }) {
      switch (operation) {
        case 'INSERT': {
          const created = definition.created;
          if (!created) return [];
          const row = parse(definition.row, record, operation);
          return build(operation, () => created(row));
        }
        case 'UPDATE': {
          const updated = definition.updated;
          if (!updated) return [];
          const row = parse(updatedRow, record, operation);
          return build(operation, () => updated(row, changedColumns));
        }
        case 'DELETE': {
          const deleted = definition.deleted;
          if (!deleted) return [];
          const old = parse((definition.deletedRow ?? definition.row) as z.ZodType<OldRow>, record, operation);
          return build(operation, () => deleted(old));
        }
      }
    },
  };
  const together = definition.updatedTogether;
  if (!together) return model;
  return {
    ...model,
    updatesTogether(records, changedColumns) {
      if (records.length > MAX_ROWS_UPDATED_TOGETHER) {
        throw new Error(`updatesTogether takes at most ${MAX_ROWS_UPDATED_TOGETHER} rows, not ${records.length}`);
      }
      const rows: UpdatedRow[] = [];
      const refused = new Map<number, string>();
      for (const [index, record] of records.entries()) {
        const checked = check(updatedRow, record, 'UPDATE');
        if ('reason' in checked) refused.set(index, checked.reason);
        else rows.push(checked.row);
      }
      return { messages: rows.length === 0 ? [] : build('UPDATE', () => together(rows, changedColumns)), refused };
    },
  };
}

/** The declared models by table. */
export class ModelRegistry {
  readonly #models = new Map<string, Model>();

  constructor(models: Model[]) {
    for (const model of models) {
      if (this.#models.has(model.table)) throw new Error(`Two models declare ${model.table}`);
      this.#models.set(model.table, model);
    }
  }

  /** The model of an observed table, or undefined when none was declared. */
  get(table: string): Model | undefined {
    return this.#models.get(table);
  }
}
