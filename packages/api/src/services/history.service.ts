import {
  AppError,
  AVAILABILITY_WINDOW_DAYS,
  type ChangeAction,
  type Connection,
  type ConnectionRecord,
  type ConnectionStore,
  encodeHistoryCursor,
  type HistoryEntry,
  type HistoryPage,
  type HistoryQuery,
  type HistoryRecord,
  toConnection,
  uuidv7,
} from '@dbconn/shared';
import type { RequestContext } from '../context.js';

const DAY_MS = 86_400_000;

/**
 * A connection's history (docs/contract.md §11) as the API writes and reads it: one entry per change
 * made through the API, with its subject and the names (never values) of the fields that changed;
 * and the resource's `availability`, counted from the verification entries the worker writes.
 */
export class HistoryService {
  constructor(private readonly store: ConnectionStore) {}

  /**
   * Appends a change. The change itself is already stored: a history write that fails is logged and
   * does not turn a successful request into an error.
   */
  async recordChange(
    ctx: RequestContext,
    record: Pick<ConnectionRecord, 'id' | 'organizationId' | 'productName'>,
    action: ChangeAction,
    fields?: readonly string[],
  ): Promise<void> {
    await this.append(ctx, changeEntry(ctx, record, action, fields));
  }

  /** Appends an entry made with `changeEntry`; a failure is logged (see recordChange). */
  async append(ctx: RequestContext, entry: HistoryRecord): Promise<void> {
    try {
      await this.store.appendHistory(entry);
    } catch (err) {
      ctx.log.warn(
        { err, connectionId: entry.connectionId, action: entry.kind === 'change' ? entry.action : undefined },
        'could not append to the history',
      );
    }
  }

  /**
   * A page of a connection's history, newest first. A deleted connection's history stays readable
   * (until the retention ends): who deleted it, and what it did before, is what one asks afterwards.
   * Another organization's connection, another product's (when a product is given) and an id with
   * no history answer 404.
   */
  async list(
    ctx: RequestContext,
    id: string,
    query: HistoryQuery,
    scope: { productName?: string | undefined },
  ): Promise<HistoryPage> {
    const organizationId = ctx.organizationId;
    const live = await this.store.findById({ organizationId }, id);
    if (live && scope.productName !== undefined && live.productName !== scope.productName) throw notFound(id);
    const records = await this.store.listHistory(organizationId, id, {
      limit: query.limit + 1,
      before: query.cursor,
    });
    if (!live) {
      // Deleted (or never here): the entries are all there is to go by.
      const newest = query.cursor
        ? (await this.store.listHistory(organizationId, id, { limit: 1 }))[0]
        : records[0];
      if (!newest) throw notFound(id);
      if (scope.productName !== undefined && newest.productName !== scope.productName) throw notFound(id);
    }
    const items = records.slice(0, query.limit).map(toHistoryEntry);
    const last = items.at(-1);
    return {
      items,
      ...(records.length > query.limit && last ? { nextCursor: encodeHistoryCursor(last.id) } : {}),
    };
  }

  /** The public resources of records, each with its 30-day availability. */
  async present(organizationId: string, records: readonly ConnectionRecord[]): Promise<Connection[]> {
    if (records.length === 0) return [];
    const since = new Date(Date.now() - AVAILABILITY_WINDOW_DAYS * DAY_MS);
    const tallies = await this.store.tallyVerifications(
      organizationId,
      records.map((r) => r.id),
      since,
    );
    return records.map((record) => toConnection(record, tallies.get(record.id)));
  }

  async presentOne(record: ConnectionRecord): Promise<Connection> {
    const [connection] = await this.present(record.organizationId, [record]);
    return connection as Connection;
  }
}

/** The history entry of a change made now by the caller of `ctx`. */
export function changeEntry(
  ctx: RequestContext,
  record: Pick<ConnectionRecord, 'id' | 'organizationId' | 'productName'>,
  action: ChangeAction,
  fields?: readonly string[],
): HistoryRecord {
  const at = new Date();
  return {
    id: uuidv7(at.getTime()),
    organizationId: record.organizationId,
    connectionId: record.id,
    ...(record.productName !== undefined ? { productName: record.productName } : {}),
    at,
    kind: 'change',
    action,
    ...(fields ? { fields: [...fields].sort() } : {}),
    subject: ctx.subject ?? null,
  };
}

/** The entry as the API shows it: no organization, no product. */
export function toHistoryEntry(record: HistoryRecord): HistoryEntry {
  const { organizationId: _o, productName: _p, at, ...entry } = record;
  return { ...entry, at: at.toISOString() } as HistoryEntry;
}

const notFound = (id: string) => new AppError('NOT_FOUND', `connection ${id} was not found`);
