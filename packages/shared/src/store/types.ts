import type { ConnectionStatus, ConnectionType } from '../schemas/connection.schema.js';
import type { ChangeHistoryEntry, VerificationHistoryEntry } from '../schemas/history.schema.js';
import type { ListConnectionsQuery } from '../schemas/list.schema.js';
import type { SslMode } from '../schemas/ssl.schema.js';
import type { Verification } from '../schemas/verification.schema.js';
import type { WebhookEvent } from '../schemas/webhook.schema.js';

/**
 * A stored connection. Secrets live only in `sealedSecrets` (see crypto/seal.ts); the API maps a
 * record to the public resource with `toConnection`, which never copies them.
 */
export interface ConnectionRecord {
  id: string;
  organizationId: string;
  configName: string;
  productName?: string | undefined;
  type: ConnectionType;
  host: string;
  port: number;
  databaseName: string;
  userName: string;
  schema?: string | undefined;
  sslMode?: SslMode | undefined;
  sealedSecrets: string;
  metadata: Record<string, string>;
  status: ConnectionStatus;
  verification?: Verification | undefined;
  /** +1 on every change made through the API; `If-Match` compares it. */
  version: number;
  /** +1 only when something that is dialled changes; verification results are guarded by it. */
  dialVersion: number;
  createdAt: Date;
  updatedAt: Date;
  /** When the status last changed; the sweeper finds stranded pending/verifying records by it. */
  statusChangedAt: Date;
  lastVerifiedAt?: Date | undefined;
  /** The subject (never the token) that created it; absent when auth was off. */
  createdBy?: string | undefined;
  /** The subject of the last change made through the API; absent when auth was off for it. */
  updatedBy?: string | undefined;
  /**
   * When a verification last changed the settled status: its first result, or an outcome other
   * than the previous one (active → failed, failed → active). Verifying/pending do not count.
   */
  lastStatusChangeAt?: Date | undefined;
}

type Stored<T> = Omit<T, 'at'> & {
  organizationId: string;
  /** The connection's product when the entry was written: scopes a deleted connection's history. */
  productName?: string | undefined;
  at: Date;
};

/** A history entry as the stores keep it (docs/contract.md §11); the id is a UUID v7 of `at`. */
export type HistoryRecord = Stored<ChangeHistoryEntry> | Stored<VerificationHistoryEntry>;

/** A registered webhook endpoint (docs/contract.md §11). Its signing secrets live only sealed. */
export interface WebhookRecord {
  id: string;
  organizationId: string;
  url: string;
  events: WebhookEvent[];
  /** Only connections of this product; absent = all of the organization's. */
  productName?: string | undefined;
  /** Sealed JSON of WebhookSecrets (crypto/seal.ts, with `webhook:<id>` as the connection id). */
  sealedSecrets: string;
  enabled: boolean;
  disabledReason?: string | undefined;
  /** Failed attempts since the last success. */
  failureStreak: number;
  secretRotatedAt?: Date | undefined;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields an update may set; `productName: null` removes the filter, `disabledReason: null` clears it. */
export type WebhookChanges = Partial<
  Pick<WebhookRecord, 'url' | 'events' | 'sealedSecrets' | 'enabled' | 'failureStreak' | 'secretRotatedAt'>
> & { productName?: string | null; disabledReason?: string | null };

/** One attempt to deliver one event to one endpoint. */
export interface WebhookDeliveryRecord {
  id: string;
  organizationId: string;
  webhookId: string;
  messageId: string;
  event: WebhookEvent;
  attempt: number;
  at: Date;
  outcome: 'delivered' | 'failed';
  statusCode?: number | undefined;
  latencyMs: number;
  error?: string | undefined;
}

/** Successful and all verifications of one connection in a window (availability = passed / total). */
export interface VerificationTally {
  passed: number;
  total: number;
}

const DAY_MS = 86_400_000;

/**
 * The createdAt window of a list query: whole UTC days, both ends inclusive — `from` is midnight
 * of startDate, `before` the midnight after endDate. One rule for every store.
 */
export function createdAtRange(query: Pick<ListConnectionsQuery, 'startDate' | 'endDate'>): {
  from?: Date;
  before?: Date;
} {
  const midnight = (day: string) => new Date(`${day}T00:00:00.000Z`);
  return {
    ...(query.startDate ? { from: midnight(query.startDate) } : {}),
    ...(query.endDate ? { before: new Date(midnight(query.endDate).getTime() + DAY_MS) } : {}),
  };
}

/** Lower-cased, trimmed configName: the uniqueness key among an organization's live connections. */
export const normaliseConfigName = (name: string) => name.trim().toLowerCase();

export interface Scope {
  organizationId: string;
  /** When set, only this product's connections are visible; `null`: only those without a product. */
  productName?: string | null | undefined;
}

export interface ListResult {
  items: ConnectionRecord[];
  total: number;
}

/**
 * What key rotation re-seals: a connection's secrets, or a webhook endpoint's signing secrets (the
 * current one and, for a day after a rotation, the previous one, sealed together).
 */
export const SEALED_KINDS = ['connection', 'webhook'] as const;
export type SealedKind = (typeof SEALED_KINDS)[number];

/** What key rotation reads of a record: which one, and its sealed secrets. */
export type SealedSecretsEntry = Pick<
  ConnectionRecord | WebhookRecord,
  'id' | 'organizationId' | 'sealedSecrets'
>;

/** Fields a partial update may set (already validated and sealed). */
export type ConnectionChanges = Partial<
  Pick<
    ConnectionRecord,
    | 'configName'
    | 'type'
    | 'host'
    | 'port'
    | 'databaseName'
    | 'userName'
    | 'schema'
    | 'sslMode'
    | 'sealedSecrets'
    | 'metadata'
    | 'productName'
  >
> & {
  /** True when a dialled field changed: bumps dialVersion and sets status back to pending. */
  redial: boolean;
  /**
   * Who makes the change (the subject). Always written: absent clears the previous one, so a
   * change made while auth is off is never credited to the last known caller.
   */
  updatedBy?: string | undefined;
};

/**
 * The store behind one interface (docs/contract.md §10). Every implementation passes the same contract
 * suite (test/store-contract/). Writes by the worker are conditional on `dialVersion`, writes by the
 * API on `version`, so no update is lost.
 */
/** A position in the sweeper's order: the last record a page returned. */
export interface StrandedCursor {
  statusChangedAt: Date;
  id: string;
}

/** How a store talks to its database (STORE_TIMEOUT_MS, STORE_POOL_SIZE). */
export interface StoreOptions {
  /** Deadline of one store call, waiting for a pooled client included; then UNAVAILABLE. */
  timeoutMs: number;
  /** Clients kept at most. */
  poolSize: number;
  /** Days a history entry is kept (HISTORY_RETENTION_DAYS); 90 when not given. */
  historyRetentionDays?: number;
}

/** The configuration's defaults, for stores made outside a configured process (tests, scripts). */
export const DEFAULT_STORE_OPTIONS: StoreOptions = { timeoutMs: 5_000, poolSize: 10 };

export interface ConnectionStore {
  readonly kind: 'mongodb' | 'postgres';
  /** Creates collections/tables and indexes; safe to run from several processes at once. */
  init(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  /** Throws AppError CONFIG_NAME_TAKEN when a live connection of the organization has the name. */
  insert(record: ConnectionRecord): Promise<void>;
  /**
   * `insert` and `appendHistory` in one statement, where the store has one (PostgreSQL): both are
   * written or neither, in one round trip (bench/README.md, P1). Absent: insert, then append.
   */
  insertWithHistory?(record: ConnectionRecord, entry: HistoryRecord): Promise<void>;
  findById(scope: Scope, id: string): Promise<ConnectionRecord | null>;
  /** The live connection of the scope with this configName (compared case-insensitively). */
  findByConfigName(scope: Scope, configName: string): Promise<ConnectionRecord | null>;
  list(scope: Scope, query: ListConnectionsQuery): Promise<ListResult>;
  /** Soft delete; the name becomes free. False when there was nothing (live) to delete. */
  softDelete(scope: Scope, id: string): Promise<boolean>;
  /**
   * Applies changes if the record is live and (when given) still at `expectedVersion`.
   * Returns the new record, or null (not found, or version mismatch — the caller re-reads to tell).
   * Throws CONFIG_NAME_TAKEN on a rename onto a taken name.
   */
  update(
    scope: Scope,
    id: string,
    changes: ConnectionChanges,
    expectedVersion?: number,
  ): Promise<ConnectionRecord | null>;

  /**
   * Worker: pending|failed|active → verifying, only while `dialVersion` matches. Null = stale or
   * deleted, or — with `unlessSettledSince` — already settled (active/failed) by a dial of this
   * version that started at or after that time: a job re-run after its result landed (at-least-once
   * delivery) then leaves the record as it is.
   */
  markVerifying(
    organizationId: string,
    id: string,
    dialVersion: number,
    options?: { unlessSettledSince?: Date },
  ): Promise<ConnectionRecord | null>;
  /**
   * Worker: records a result and the final status, only while `dialVersion` matches and the record
   * is not already settled (active/failed) by a dial that started later (two dials of the same
   * settings — a periodic one and a test — may end out of order; `checkedAt` is when a dial
   * started). A record pending or verifying always takes the result, so workers' clocks can never
   * strand it. With `statusChanged` (the caller compared the outcome with the previous result) it
   * also sets `lastStatusChangeAt`. False = stale.
   */
  recordVerification(
    organizationId: string,
    id: string,
    dialVersion: number,
    status: 'active' | 'failed',
    verification: Verification,
    options?: { statusChanged?: boolean },
  ): Promise<boolean>;
  /**
   * `recordVerification` and `appendHistory` of its entry in one statement, where the store has one
   * (PostgreSQL): the entry is written exactly when the result is, in one round trip and one commit
   * (bench/README.md, P2/P3). Absent: record, then append. Null when nothing was written (as
   * `recordVerification`'s false); else whether the organization has an enabled webhook endpoint,
   * read in the same statement: when it has none, a change of status needs no webhook lookup.
   */
  recordVerificationWithHistory?(
    organizationId: string,
    id: string,
    dialVersion: number,
    status: 'active' | 'failed',
    verification: Verification,
    options: { statusChanged?: boolean },
    entry: HistoryRecord,
  ): Promise<{ webhooks: boolean } | null>;
  /**
   * Sweeper: live records left pending/verifying since before `olderThan`, by (statusChangedAt, id);
   * with `after`, only those past that position (the sweeper pages past records it leaves alone).
   */
  findStranded(olderThan: Date, limit: number, after?: StrandedCursor): Promise<ConnectionRecord[]>;
  /**
   * Sweeper: sets pending and touches statusChangedAt so the record is not swept again at once —
   * only while it is still pending/verifying for `dialVersion` since before `staleBefore` (a job
   * that took it meanwhile keeps it).
   */
  requeue(organizationId: string, id: string, dialVersion: number, staleBefore: Date): Promise<boolean>;
  /**
   * Periodic re-verification: live `active` and `failed` records whose last verification ended
   * before `olderThan`, oldest first (then by id), across organizations. `failed` ones are included
   * so a database fixed on its side recovers without anyone touching the connection. A record with
   * no `lastVerifiedAt` never finished a verification (it is pending/verifying: the sweeper's).
   */
  findDueForReverification(olderThan: Date, limit: number): Promise<ConnectionRecord[]>;

  /**
   * Key rotation: the sealed secrets of live records of one kind (connections or webhooks) across
   * organizations, ordered by id, the first `limit` with an id greater than `after` (from the start
   * when undefined). Soft-deleted records are left out: nothing opens their secrets again, and once
   * the old key is removed they stay sealed under a key nobody has.
   */
  listSealed(kind: SealedKind, after: string | undefined, limit: number): Promise<SealedSecretsEntry[]>;
  /**
   * Key rotation: sets `sealedSecrets` of the live record of this kind to `replacement` only if it
   * still holds exactly `expected` (compare-and-set on the sealed value, so a change made meanwhile
   * — a PATCH that sealed new secrets, a webhook's rotate-secret — is never overwritten). Touches
   * nothing else: version, dialVersion, updatedAt and status stay, since nothing anyone can see has
   * changed. False when the record changed, was deleted, or does not exist.
   */
  replaceSealedSecrets(
    kind: SealedKind,
    organizationId: string,
    id: string,
    expected: string,
    replacement: string,
  ): Promise<boolean>;

  /**
   * History (docs/contract.md §11): appends one entry. Entries are never changed; they go when
   * they are older than the retention (`purgeHistory`, or MongoDB's TTL index).
   */
  appendHistory(entry: HistoryRecord): Promise<void>;
  /**
   * The organization's entries for one connection (live or deleted), newest first (by id), at most
   * `limit`, only those older than the entry `before` when given, and none older than the retention.
   */
  listHistory(
    organizationId: string,
    connectionId: string,
    page: { limit: number; before?: string | undefined },
  ): Promise<HistoryRecord[]>;
  /** Verification entries since `since` per connection of the organization; connections with none are absent. */
  tallyVerifications(
    organizationId: string,
    connectionIds: readonly string[],
    since: Date,
  ): Promise<Map<string, VerificationTally>>;
  /** Deletes entries older than the retention; the number deleted (MongoDB's TTL index does it there: 0). */
  purgeHistory(now?: Date): Promise<number>;

  /** Webhooks (docs/contract.md §11), per organization; a deleted one is gone for every read. */
  insertWebhook(record: WebhookRecord): Promise<void>;
  findWebhook(organizationId: string, id: string): Promise<WebhookRecord | null>;
  /** The organization's live webhooks, oldest first. */
  listWebhooks(organizationId: string): Promise<WebhookRecord[]>;
  /** Null when there is no such live webhook. Touches updatedAt. */
  updateWebhook(organizationId: string, id: string, changes: WebhookChanges): Promise<WebhookRecord | null>;
  deleteWebhook(organizationId: string, id: string): Promise<boolean>;
  /**
   * Appends an attempt and keeps the endpoint's failure streak: a delivery resets it, a failure
   * adds one and turns the endpoint off (with `disabledReason`) when it reaches `disableAfter`.
   */
  recordDeliveryAttempt(delivery: WebhookDeliveryRecord, disableAfter: number): Promise<void>;
  /** The webhook's attempts, newest first. */
  listDeliveries(organizationId: string, webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
}

/** Why an endpoint was turned off (one text for both stores). */
export const disabledAfter = (failures: number) =>
  `disabled after ${failures} failed delivery attempts in a row; PATCH enabled: true to turn it on again`;

export const DEFAULT_HISTORY_RETENTION_DAYS = 90;

/** The oldest `at` a history entry may have to still be kept. */
export const historyCutoff = (retentionDays: number, now: Date = new Date()) =>
  new Date(now.getTime() - retentionDays * DAY_MS);
