import type { Pool, PoolClient } from 'pg';
import pg from 'pg';
import type { ListConnectionsQuery } from '../../schemas/list.schema.js';
import type { Verification } from '../../schemas/verification.schema.js';
import { Batcher, type Outcome } from '../batcher.js';
import {
  type ConnectionChanges,
  type ConnectionRecord,
  type ConnectionStore,
  createdAtRange,
  DEFAULT_HISTORY_RETENTION_DAYS,
  DEFAULT_STORE_OPTIONS,
  disabledAfter,
  type HistoryRecord,
  historyCutoff,
  type ListResult,
  normaliseConfigName,
  type Scope,
  type SealedKind,
  type SealedSecretsEntry,
  type StoreOptions,
  type StrandedCursor,
  type VerificationTally,
  type WebhookChanges,
  type WebhookDeliveryRecord,
  type WebhookRecord,
} from '../types.js';
import { Conditions, whereProduct } from './conditions.js';
import { asError, isUnavailable, toStoreError } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import {
  COLUMNS,
  CONNECTION_INSERTED,
  type ConnectionRow,
  columnValues,
  connectionRow,
  HISTORY_INSERTED,
  type HistoryRow,
  historyRow,
  toHistoryRecord,
  toRecord,
  toWebhookRecord,
  WEBHOOK_COLUMNS,
  type WebhookRow,
} from './rows.js';
import { storeSessionOptions } from './session-options.js';

/** Serialises `init()` of every process sharing the database (an arbitrary, fixed 64-bit key). */
const MIGRATION_LOCK_KEY = '7319046152380911';
/** Deadline of init() (migrations run once, at start, and may build indexes). */
const MIGRATION_TIMEOUT_MS = 120_000;
/** A schema name we can put in `search_path` and DDL without quoting surprises. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The table of each kind of sealed record key rotation re-seals; both have the same key and columns. */
const SEALED_TABLES: Record<SealedKind, string> = { connection: 'connections', webhook: 'webhooks' };

/**
 * The UPDATE of a verification's result onto its record ($1–$8), only while the dialled version
 * matches and no later dial settled it (see ConnectionStore.recordVerification).
 */
function verificationStatement(
  organizationId: string,
  id: string,
  dialVersion: number,
  status: 'active' | 'failed',
  verification: Verification,
  options: { statusChanged?: boolean },
): [string, unknown[]] {
  return [
    `UPDATE connections SET status = $4, verification = $5::jsonb, last_verified_at = $6,
         status_changed_at = $7, updated_at = $7,
         last_status_change_at = CASE WHEN $8::boolean THEN $7 ELSE last_status_change_at END
       WHERE id = $1 AND organization_id = $2 AND dial_version = $3 AND deleted_at IS NULL
         AND (status NOT IN ('active', 'failed') OR last_verified_at IS NULL OR last_verified_at <= $6)`,
    [
      id,
      organizationId,
      dialVersion,
      status,
      JSON.stringify(verification),
      new Date(verification.checkedAt),
      new Date(),
      options.statusChanged === true,
    ],
  ];
}

/**
 * The INSERT of a history entry, its parameters numbered after `offset`: one row of VALUES, or with
 * `from` (a CTE's name) one row per row that CTE returned — none when it wrote nothing.
 */
function historyStatement(entry: HistoryRecord, offset = 0, from?: string): [string, unknown[]] {
  const n = (i: number) => `$${offset + i}`;
  const values = `${n(1)}, ${n(2)}, ${n(3)}, ${n(4)}, ${n(5)}, ${n(6)}, ${n(7)}::jsonb`;
  return [
    `INSERT INTO connection_history (${HISTORY_INSERTED.join(', ')})
       ${from ? `SELECT ${values} FROM ${from}` : `VALUES (${values})`}`,
    columnValues(HISTORY_INSERTED, historyRow(entry)),
  ];
}

/**
 * Creates that arrived together, each record with its 'created' entry, in one statement: rows whose
 * id or name is already taken are skipped (their own insert then answers why), and each stored
 * record's entry is written with it. Returns the ids stored.
 */
const INSERT_BATCH = `WITH stored AS (
    INSERT INTO connections (${CONNECTION_INSERTED.join(', ')})
      SELECT ${CONNECTION_INSERTED.join(', ')} FROM json_populate_recordset(NULL::connections, $1::json)
      ON CONFLICT DO NOTHING RETURNING id),
  logged AS (
    INSERT INTO connection_history (${HISTORY_INSERTED.join(', ')})
      SELECT ${HISTORY_INSERTED.join(', ')} FROM json_populate_recordset(NULL::connection_history, $2::json)
      WHERE connection_id IN (SELECT id FROM stored))
  SELECT id FROM stored`;
/** Insert batches running at once: the rest of the pool stays free for reads and verifications. */
const INSERT_BATCHES_IN_FLIGHT = 2;
/** Creates in one insert batch at most (a few hundred KiB of JSON). */
const INSERT_BATCH_MAX = 128;

interface Created {
  record: ConnectionRecord;
  entry: HistoryRecord;
  /** When its caller stops waiting: the store's timeout from the moment it was submitted. */
  deadline: number;
}

/**
 * The PostgreSQL store (docs/contract.md §10). The URL may carry `?schema=<name>`: the store then lives in that
 * schema (created at `init()`), which gives tests and side-by-side deployments their own tables.
 *
 * `update` treats `schema` and `sslMode` present with the value `undefined` as "remove"; every other
 * field is changed only when it has a value.
 *
 * Over 400 lines for a reason: one method per operation of the ConnectionStore interface, each a
 * statement or two; the rows, the WHERE builder and the error mapping live beside it.
 */
export class PostgresConnectionStore implements ConnectionStore {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private readonly schemaName: string | undefined;
  private readonly timeoutMs: number;
  private readonly historyRetentionDays: number;
  /** Creates that arrive while earlier ones are being written go together in one statement. */
  private readonly inserts = new Batcher<Created, void>((batch) => this.insertBatch(batch), {
    maxInFlight: INSERT_BATCHES_IN_FLIGHT,
    maxBatch: INSERT_BATCH_MAX,
  });

  constructor(url: string, options: StoreOptions = DEFAULT_STORE_OPTIONS) {
    this.historyRetentionDays = options.historyRetentionDays ?? DEFAULT_HISTORY_RETENTION_DAYS;
    const parsed = new URL(url);
    const schemaName = parsed.searchParams.get('schema') ?? undefined;
    if (schemaName !== undefined && !SCHEMA_NAME.test(schemaName)) {
      throw new Error('STORE_URL parameter schema must be a lower-case identifier (a-z, 0-9, _; at most 63)');
    }
    parsed.searchParams.delete('schema');
    this.schemaName = schemaName;
    this.timeoutMs = options.timeoutMs;
    this.pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: options.poolSize,
      // Bounds both a connect the server never answers and the wait for a free pooled client.
      connectionTimeoutMillis: options.timeoutMs,
      // The server gives up on its side too, so a query we stopped waiting for does not run on.
      statement_timeout: options.timeoutMs,
      // A client that died inside a transaction does not keep its locks until TCP notices.
      idle_in_transaction_session_timeout: options.timeoutMs * 2,
      // A peer that vanished (host down, connection dropped by a middlebox) is found on idle clients.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      options: storeSessionOptions(schemaName),
    });
    // An idle client whose server went away emits here; the pool drops it and the next query
    // reconnects or fails with UNAVAILABLE. Without a listener the process would crash.
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    await this.withClient(MIGRATION_TIMEOUT_MS, async (query) => {
      await query('BEGIN');
      // Migrations (an index build) may outlast one request's deadline, and so may waiting for the lock.
      await query(`SET LOCAL statement_timeout = ${MIGRATION_TIMEOUT_MS}`);
      await query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      if (this.schemaName) {
        await query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.schemaName)}`);
      }
      await query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const rows = await query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((row) => row.version));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.statements) await query(statement);
        await query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
      await query('COMMIT');
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async insert(record: ConnectionRecord): Promise<void> {
    const [sql, params] = insertStatement(record);
    await this.query(sql, params, 'dbconn_insert');
  }

  /**
   * Concurrent creates are written in batches (Batcher): at 64 concurrent creates PostgreSQL spends
   * a third of the CPU per create it did one statement each (bench/README.md, "Fifth pass"). Each
   * caller still learns its own outcome: a batch skips a row that conflicts, and that row's own
   * statement then answers CONFIG_NAME_TAKEN (or whatever it meets) to its caller alone.
   */
  insertWithHistory(record: ConnectionRecord, entry: HistoryRecord): Promise<void> {
    return this.inserts.submit({ record, entry, deadline: performance.now() + this.timeoutMs });
  }

  private async insertBatch(batch: Created[]): Promise<Outcome<void>[]> {
    let stored = new Set<string>();
    if (batch.length > 1) {
      try {
        // Time spent waiting for the batch to start counts: no create waits longer than a lone one could.
        const deadline = Math.min(...batch.map((created) => created.deadline));
        const rows = await this.queryWithin<{ id: string }>(
          deadline,
          INSERT_BATCH,
          [
            JSON.stringify(batch.map(({ record }) => connectionRow(record))),
            JSON.stringify(batch.map(({ entry }) => historyRow(entry))),
          ],
          'dbconn_insert_batch',
        );
        stored = new Set(rows.map((row) => row.id));
      } catch (error) {
        // The store did not answer: as for a lone insert, the batch may or may not have landed, and
        // every caller hears so. Any other error refused the statement as a whole (nothing was
        // written): each create is tried alone below, for its own answer.
        if (isUnavailable(error)) throw error;
      }
    }
    return Promise.all(
      batch.map(({ record, entry, deadline }) =>
        stored.has(record.id.toLowerCase())
          ? { ok: true as const, value: undefined }
          : this.insertOneWithHistory(record, entry, deadline).then(
              () => ({ ok: true as const, value: undefined }),
              (error: unknown) => ({ ok: false as const, error }),
            ),
      ),
    );
  }

  /** One record and its entry, without skipping conflicts: the error is its caller's answer. */
  private async insertOneWithHistory(
    record: ConnectionRecord,
    entry: HistoryRecord,
    deadline: number,
  ): Promise<void> {
    const [sql, params] = insertStatement(record);
    const [history, entryParams] = historyStatement(entry, params.length, 'stored');
    await this.queryWithin(
      deadline,
      `WITH stored AS (${sql} RETURNING id) ${history}`,
      [...params, ...entryParams],
      'dbconn_insert_with_history',
    );
  }

  async findById(scope: Scope, id: string): Promise<ConnectionRecord | null> {
    if (!UUID.test(id)) return null;
    const where = new Conditions(
      [id, scope.organizationId],
      'id = $1 AND organization_id = $2 AND deleted_at IS NULL',
    );
    whereProduct(where, scope.productName);
    const rows = await this.query(`SELECT ${COLUMNS} FROM connections WHERE ${where.sql}`, where.params);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findByConfigName(scope: Scope, configName: string): Promise<ConnectionRecord | null> {
    const where = new Conditions(
      [normaliseConfigName(configName), scope.organizationId],
      'config_name_key = $1 AND organization_id = $2 AND deleted_at IS NULL',
    );
    whereProduct(where, scope.productName);
    const rows = await this.query(`SELECT ${COLUMNS} FROM connections WHERE ${where.sql}`, where.params);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(scope: Scope, query: ListConnectionsQuery): Promise<ListResult> {
    const where = new Conditions([scope.organizationId], 'organization_id = $1 AND deleted_at IS NULL');
    whereProduct(where, scope.productName);
    whereProduct(where, query.productName);
    if (query.type) where.add((p) => `type = ${p}`, query.type);
    if (query.status) where.add((p) => `status = ${p}`, query.status);
    if (query.warning) {
      // The latest verification carries this warning (migration 5 indexes the expression).
      where.add(
        (p) => `verification -> 'warnings' @> ${p}::jsonb`,
        JSON.stringify([{ code: query.warning }]),
      );
    }
    const { from, before } = createdAtRange(query);
    if (from) where.add((p) => `created_at >= ${p}`, from);
    if (before) where.add((p) => `created_at < ${p}`, before);
    if (query.metadata && Object.keys(query.metadata).length > 0) {
      // Containment of a flat object = every given key has exactly the given value.
      where.add((p) => `metadata @> ${p}::jsonb`, JSON.stringify(query.metadata));
    }
    const direction = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const paging = [query.limit, (query.page - 1) * query.limit];
    const n = where.params.length;
    const [rows, counts] = await Promise.all([
      // The page's ids first, then their rows: the skipped rows of a deep page are sorted as
      // (created_at, id) only, not whole (a page 500 sorted whole rows on disk: bench/README.md, P5).
      this.query(
        `SELECT ${COLUMNS} FROM connections WHERE id IN (
           SELECT id FROM connections WHERE ${where.sql}
           ORDER BY created_at ${direction}, id ${direction} LIMIT $${n + 1} OFFSET $${n + 2})
         ORDER BY created_at ${direction}, id ${direction}`,
        [...where.params, ...paging],
      ),
      this.query<{ total: string }>(
        `SELECT count(*) AS total FROM connections WHERE ${where.sql}`,
        where.params,
      ),
    ]);
    return { items: rows.map(toRecord), total: Number(counts[0]?.total ?? 0) };
  }

  async softDelete(scope: Scope, id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const where = new Conditions(
      [new Date(), id, scope.organizationId],
      'id = $2 AND organization_id = $3 AND deleted_at IS NULL',
    );
    whereProduct(where, scope.productName);
    const rows = await this.query(
      `UPDATE connections SET deleted_at = $1 WHERE ${where.sql} RETURNING id`,
      where.params,
    );
    return rows.length > 0;
  }

  async update(
    scope: Scope,
    id: string,
    changes: ConnectionChanges,
    expectedVersion?: number,
  ): Promise<ConnectionRecord | null> {
    if (!UUID.test(id)) return null;
    const now = new Date();
    const params: unknown[] = [];
    const sets = ['version = version + 1'];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    set('updated_at', now);
    set('updated_by', changes.updatedBy ?? null);
    if (changes.configName !== undefined) {
      set('config_name', changes.configName);
      set('config_name_key', normaliseConfigName(changes.configName));
    }
    if (changes.productName !== undefined) set('product_name', changes.productName);
    if (changes.type !== undefined) set('type', changes.type);
    if (changes.host !== undefined) set('host', changes.host);
    if (changes.port !== undefined) set('port', changes.port);
    if (changes.databaseName !== undefined) set('database_name', changes.databaseName);
    if (changes.userName !== undefined) set('user_name', changes.userName);
    if (Object.hasOwn(changes, 'schema')) set('schema', changes.schema ?? null);
    if (Object.hasOwn(changes, 'sslMode')) set('ssl_mode', changes.sslMode ?? null);
    if (changes.sealedSecrets !== undefined) set('sealed_secrets', changes.sealedSecrets);
    if (changes.metadata !== undefined) set('metadata', JSON.stringify(changes.metadata), '::jsonb');
    if (changes.redial) {
      sets.push('dial_version = dial_version + 1', `status = 'pending'`);
      set('status_changed_at', now);
    }

    const where = new Conditions(params, '');
    where.add((p) => `id = ${p}`, id);
    where.add((p) => `organization_id = ${p}`, scope.organizationId);
    where.add(() => 'deleted_at IS NULL');
    whereProduct(where, scope.productName);
    if (expectedVersion !== undefined) where.add((p) => `version = ${p}`, expectedVersion);
    const rows = await this.query(
      `UPDATE connections SET ${sets.join(', ')} WHERE ${where.sql} RETURNING ${COLUMNS}`,
      where.params,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async markVerifying(
    organizationId: string,
    id: string,
    dialVersion: number,
    options: { unlessSettledSince?: Date } = {},
  ): Promise<ConnectionRecord | null> {
    if (!UUID.test(id)) return null;
    const since = options.unlessSettledSince;
    const rows = await this.query(
      `UPDATE connections SET status = 'verifying', status_changed_at = $4
       WHERE id = $1 AND organization_id = $2 AND dial_version = $3 AND deleted_at IS NULL
         ${since ? `AND NOT (status IN ('active', 'failed') AND COALESCE(last_verified_at >= $5, false))` : ''}
       RETURNING ${COLUMNS}`,
      since
        ? [id, organizationId, dialVersion, new Date(), since]
        : [id, organizationId, dialVersion, new Date()],
      since ? 'dbconn_mark_verifying_unless_settled' : 'dbconn_mark_verifying',
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async recordVerification(
    organizationId: string,
    id: string,
    dialVersion: number,
    status: 'active' | 'failed',
    verification: Verification,
    options: { statusChanged?: boolean } = {},
  ): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const [sql, params] = verificationStatement(
      organizationId,
      id,
      dialVersion,
      status,
      verification,
      options,
    );
    const rows = await this.query(`${sql} RETURNING id`, params, 'dbconn_record_verification');
    return rows.length > 0;
  }

  async recordVerificationWithHistory(
    organizationId: string,
    id: string,
    dialVersion: number,
    status: 'active' | 'failed',
    verification: Verification,
    options: { statusChanged?: boolean },
    entry: HistoryRecord,
  ): Promise<{ webhooks: boolean } | null> {
    if (!UUID.test(id)) return null;
    const [sql, params] = verificationStatement(
      organizationId,
      id,
      dialVersion,
      status,
      verification,
      options,
    );
    // The entry is inserted only from the row the update wrote: a stale result leaves no trace.
    // Whether the organization has an endpoint that could want the change rides along, so the
    // usual answer (none) costs no statement of its own (bench/README.md, P3).
    const [history, entryParams] = historyStatement(entry, params.length, 'written');
    const rows = await this.query<{ webhooks: boolean }>(
      `WITH written AS (${sql} RETURNING id), logged AS (${history})
       SELECT EXISTS (SELECT 1 FROM webhooks WHERE organization_id = $2 AND enabled AND deleted_at IS NULL)
         AS webhooks FROM written`,
      [...params, ...entryParams],
      'dbconn_record_verification_with_history',
    );
    return rows[0] ? { webhooks: rows[0].webhooks } : null;
  }

  async appendHistory(entry: HistoryRecord): Promise<void> {
    const [sql, params] = historyStatement(entry);
    await this.query(sql, params, 'dbconn_append_history');
  }

  async listHistory(
    organizationId: string,
    connectionId: string,
    page: { limit: number; before?: string | undefined },
  ): Promise<HistoryRecord[]> {
    if (!UUID.test(connectionId) || (page.before !== undefined && !UUID.test(page.before))) return [];
    const params: unknown[] = [organizationId, connectionId, this.historyCutoff(), page.limit];
    if (page.before !== undefined) params.push(page.before);
    const rows = await this.query<HistoryRow>(
      `SELECT id, organization_id, connection_id, product_name, at, kind, details FROM connection_history
       WHERE organization_id = $1 AND connection_id = $2 AND at >= $3
         ${page.before !== undefined ? 'AND id < $5' : ''}
       ORDER BY id DESC LIMIT $4`,
      params,
    );
    return rows.map(toHistoryRecord);
  }

  async tallyVerifications(
    organizationId: string,
    connectionIds: readonly string[],
    since: Date,
  ): Promise<Map<string, VerificationTally>> {
    const ids = connectionIds.filter((id) => UUID.test(id));
    if (ids.length === 0) return new Map();
    const rows = await this.query<{ connection_id: string; passed: string; total: string }>(
      `SELECT connection_id, count(*) FILTER (WHERE details->>'status' = 'active') AS passed, count(*) AS total
       FROM connection_history
       WHERE organization_id = $1 AND connection_id = ANY($2::uuid[]) AND kind = 'verification' AND at >= $3
       GROUP BY connection_id`,
      [organizationId, ids, since],
    );
    return new Map(
      rows.map((row) => [row.connection_id, { passed: Number(row.passed), total: Number(row.total) }]),
    );
  }

  async purgeHistory(now: Date = new Date()): Promise<number> {
    const rows = await this.query<{ id: string }>(
      'DELETE FROM connection_history WHERE at < $1 RETURNING id',
      [this.historyCutoff(now)],
    );
    // Delivery attempts follow the same retention.
    await this.query('DELETE FROM webhook_deliveries WHERE at < $1', [this.historyCutoff(now)]);
    return rows.length;
  }

  async insertWebhook(record: WebhookRecord): Promise<void> {
    await this.query(
      `INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        record.id,
        record.organizationId,
        record.url,
        JSON.stringify(record.events),
        record.productName ?? null,
        record.sealedSecrets,
        record.enabled,
        record.disabledReason ?? null,
        record.failureStreak,
        record.secretRotatedAt ?? null,
        record.createdAt,
        record.updatedAt,
      ],
    );
  }

  async findWebhook(organizationId: string, id: string): Promise<WebhookRecord | null> {
    if (!UUID.test(id)) return null;
    const rows = await this.query<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`,
      [id, organizationId],
    );
    return rows[0] ? toWebhookRecord(rows[0]) : null;
  }

  async listWebhooks(organizationId: string): Promise<WebhookRecord[]> {
    const rows = await this.query<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE organization_id = $1 AND deleted_at IS NULL
       ORDER BY created_at, id`,
      [organizationId],
    );
    return rows.map(toWebhookRecord);
  }

  async updateWebhook(
    organizationId: string,
    id: string,
    changes: WebhookChanges,
  ): Promise<WebhookRecord | null> {
    if (!UUID.test(id)) return null;
    const params: unknown[] = [id, organizationId, new Date()];
    const sets = ['updated_at = $3'];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (changes.url !== undefined) set('url', changes.url);
    if (changes.events !== undefined) set('events', JSON.stringify(changes.events), '::jsonb');
    if (changes.productName !== undefined) set('product_name', changes.productName);
    if (changes.sealedSecrets !== undefined) set('sealed_secrets', changes.sealedSecrets);
    if (changes.enabled !== undefined) set('enabled', changes.enabled);
    if (changes.disabledReason !== undefined) set('disabled_reason', changes.disabledReason);
    if (changes.failureStreak !== undefined) set('failure_streak', changes.failureStreak);
    if (changes.secretRotatedAt !== undefined) set('secret_rotated_at', changes.secretRotatedAt);
    const rows = await this.query<WebhookRow>(
      `UPDATE webhooks SET ${sets.join(', ')}
       WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL RETURNING ${WEBHOOK_COLUMNS}`,
      params,
    );
    return rows[0] ? toWebhookRecord(rows[0]) : null;
  }

  async deleteWebhook(organizationId: string, id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.query<{ id: string }>(
      `UPDATE webhooks SET deleted_at = $3 WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL
       RETURNING id`,
      [id, organizationId, new Date()],
    );
    return rows.length > 0;
  }

  async recordDeliveryAttempt(delivery: WebhookDeliveryRecord, disableAfter: number): Promise<void> {
    const { id, organizationId, webhookId, at, ...details } = delivery;
    await this.query(
      `INSERT INTO webhook_deliveries (id, organization_id, webhook_id, at, details)
       VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [id, organizationId, webhookId, at, JSON.stringify(details)],
    );
    const failed = delivery.outcome === 'failed';
    // One statement: two workers finishing attempts together cannot lose a count.
    await this.query(
      `UPDATE webhooks SET
         failure_streak = CASE WHEN $3 THEN failure_streak + 1 ELSE 0 END,
         disabled_reason = CASE WHEN $3 AND enabled AND failure_streak + 1 >= $4 THEN $5 ELSE disabled_reason END,
         enabled = CASE WHEN $3 AND failure_streak + 1 >= $4 THEN false ELSE enabled END
       WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL`,
      [webhookId, organizationId, failed, disableAfter, disabledAfter(disableAfter)],
    );
  }

  async listDeliveries(
    organizationId: string,
    webhookId: string,
    limit: number,
  ): Promise<WebhookDeliveryRecord[]> {
    if (!UUID.test(webhookId)) return [];
    const rows = await this.query<{
      id: string;
      organization_id: string;
      webhook_id: string;
      at: Date;
      details: Omit<WebhookDeliveryRecord, 'id' | 'organizationId' | 'webhookId' | 'at'>;
    }>(
      `SELECT id, organization_id, webhook_id, at, details FROM webhook_deliveries
       WHERE organization_id = $1 AND webhook_id = $2 ORDER BY id DESC LIMIT $3`,
      [organizationId, webhookId, limit],
    );
    return rows.map((row) => ({
      ...row.details,
      id: row.id,
      organizationId: row.organization_id,
      webhookId: row.webhook_id,
      at: row.at,
    }));
  }

  private historyCutoff(now: Date = new Date()): Date {
    return historyCutoff(this.historyRetentionDays, now);
  }

  async findStranded(olderThan: Date, limit: number, after?: StrandedCursor): Promise<ConnectionRecord[]> {
    const rows = await this.query(
      `SELECT ${COLUMNS} FROM connections
       WHERE status IN ('pending', 'verifying') AND status_changed_at < $1 AND deleted_at IS NULL
         ${after ? 'AND (status_changed_at, id) > ($3, $4::uuid)' : ''}
       ORDER BY status_changed_at, id LIMIT $2`,
      after ? [olderThan, limit, after.statusChangedAt, after.id] : [olderThan, limit],
    );
    return rows.map(toRecord);
  }

  async findDueForReverification(olderThan: Date, limit: number): Promise<ConnectionRecord[]> {
    const rows = await this.query(
      `SELECT ${COLUMNS} FROM connections
       WHERE status IN ('active', 'failed') AND last_verified_at < $1 AND deleted_at IS NULL
       ORDER BY last_verified_at, id LIMIT $2`,
      [olderThan, limit],
    );
    return rows.map(toRecord);
  }

  async requeue(
    organizationId: string,
    id: string,
    dialVersion: number,
    staleBefore: Date,
  ): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.query(
      `UPDATE connections SET status = 'pending', status_changed_at = $4
       WHERE id = $1 AND organization_id = $2 AND dial_version = $3 AND deleted_at IS NULL
         AND status IN ('pending', 'verifying') AND status_changed_at < $5
       RETURNING id`,
      [id, organizationId, dialVersion, new Date(), staleBefore],
    );
    return rows.length > 0;
  }

  async listSealed(
    kind: SealedKind,
    after: string | undefined,
    limit: number,
  ): Promise<SealedSecretsEntry[]> {
    const table = SEALED_TABLES[kind];
    // Ordered by the primary key, so each page is an index range scan whatever the table size.
    const rows = await this.query<{ id: string; organization_id: string; sealed_secrets: string }>(
      after === undefined
        ? `SELECT id, organization_id, sealed_secrets FROM ${table}
           WHERE deleted_at IS NULL ORDER BY id LIMIT $1`
        : `SELECT id, organization_id, sealed_secrets FROM ${table}
           WHERE deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $1`,
      after === undefined ? [limit] : [limit, after],
    );
    return rows.map((row) => ({
      id: row.id,
      organizationId: row.organization_id,
      sealedSecrets: row.sealed_secrets,
    }));
  }

  async replaceSealedSecrets(
    kind: SealedKind,
    organizationId: string,
    id: string,
    expected: string,
    replacement: string,
  ): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.query(
      `UPDATE ${SEALED_TABLES[kind]} SET sealed_secrets = $4
       WHERE id = $1 AND organization_id = $2 AND sealed_secrets = $3 AND deleted_at IS NULL
       RETURNING id`,
      [id, organizationId, expected, replacement],
    );
    return rows.length > 0;
  }

  /**
   * One statement on a pooled client, all of it (the wait for the client included) within the deadline.
   * A `name` makes it a prepared statement of each pooled client (PostgreSQL parses and plans it once
   * per client instead of on every call): for the fixed statements of the hot paths only (create,
   * verification), one name per text; statements built from a query's filters stay unnamed.
   */
  private query<Row extends object = ConnectionRow>(
    sql: string,
    params: unknown[] = [],
    name?: string,
  ): Promise<Row[]> {
    return this.queryWithin<Row>(performance.now() + this.timeoutMs, sql, params, name);
  }

  /** `query` with a deadline already running (`performance.now()` time). */
  private async queryWithin<Row extends object = ConnectionRow>(
    deadline: number,
    sql: string,
    params: unknown[],
    name?: string,
  ): Promise<Row[]> {
    const client = await this.checkout();
    try {
      const result = await this.run<Row>(client, sql, params, deadline, name);
      client.release();
      return result;
    } catch (error) {
      throw this.discard(client, error);
    }
  }

  /**
   * Runs `work` on one client within one deadline (for the statements of a transaction); a failure
   * rolls back, and a client that may be broken or still busy is destroyed.
   */
  private async withClient(
    timeoutMs: number,
    work: (query: <Row extends object>(sql: string, params?: unknown[]) => Promise<Row[]>) => Promise<void>,
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const client = await this.checkout();
    try {
      await work((sql, params = []) => this.run(client, sql, params, deadline));
      client.release();
    } catch (error) {
      const storeError = toStoreError(error);
      if (!isUnavailable(storeError)) await client.query('ROLLBACK').catch(() => {});
      throw this.discard(client, error, true);
    }
  }

  private async checkout(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** `query_timeout` ends the wait on our side (pg's own; the server is told by statement_timeout). */
  private async run<Row extends object>(
    client: PoolClient,
    sql: string,
    params: unknown[],
    deadline: number,
    name?: string,
  ): Promise<Row[]> {
    const remaining = Math.max(1, Math.ceil(deadline - performance.now()));
    const result = await client.query<Row & pg.QueryResultRow>({
      text: sql,
      values: params,
      query_timeout: remaining,
      ...(name ? { name } : {}),
    } as pg.QueryConfig);
    return result.rows;
  }

  /**
   * Gives the client back, destroying it (never reused) when the store failed or the deadline
   * passed: it may still have the statement on the wire, and the next caller would read its answer.
   */
  private discard(client: PoolClient, error: unknown, always = false): unknown {
    const storeError = toStoreError(error);
    client.release(always || isUnavailable(storeError) ? asError(error) : undefined);
    return storeError;
  }
}

/** The INSERT of a connection and its parameters ($1–$25). */
function insertStatement(record: ConnectionRecord): [string, unknown[]] {
  return [INSERT_ONE, columnValues(CONNECTION_INSERTED, connectionRow(record))];
}
const INSERT_ONE = `INSERT INTO connections (${CONNECTION_INSERTED.join(', ')})
  VALUES (${CONNECTION_INSERTED.map((_, i) => `$${i + 1}`).join(', ')})`;
