import {
  AppError,
  type Connection,
  type ConnectionChanges,
  type ConnectionPage,
  type ConnectionRecord,
  type ConnectionStore,
  type CreateConnectionInput,
  dialledMetadataChanged,
  type EgressGuard,
  enqueueVerification,
  type Keyring,
  type ListConnectionsQuery,
  normaliseConfigName,
  type Queue,
  type RetryPolicy,
  sealSecrets,
  toConnection,
  type UpdateConnectionInput,
  uuidv7,
  type VerifyConnectionJob,
} from '@dbconn/shared';
import type { Door, RequestContext } from '../context.js';
import { assertDialTargetAllowed } from './dial-targets.js';
import { changeEntry, type HistoryService } from './history.service.js';
import type { IdempotencyKeys } from './idempotency.js';
import type { Limit, RateLimiter } from './rate-limiter.js';
import { secretsAfterChange } from './secrets.js';

export interface ConnectionServiceDeps {
  store: ConnectionStore;
  /** Appends each change to the connection's history; presents records with their availability. */
  history: HistoryService;
  verifyQueue: Queue<VerifyConnectionJob>;
  keyring: Keyring;
  retry: RetryPolicy;
  /** Called after an update or delete: drop caches, tell watchers. Failures are logged, not thrown. */
  afterChange?: (
    record: ConnectionRecord,
    change: 'updated' | 'deleted',
    ctx: RequestContext,
  ) => Promise<void>;
  /** Called once per connection stored by create, with the door it came through (for metrics). */
  onCreated?: (door: Door) => void;
  /** Judges a host written as an IP address before anything is stored (docs/contract.md §8). */
  egress?: EgressGuard;
  /** Creates and updates that enqueue a dial, per organization and window (docs/contract.md §8). */
  dials: { limiter: RateLimiter; perOrganization: number };
  /** The first answers of creates sent with an Idempotency-Key (docs/contract.md §2). */
  idempotency: IdempotencyKeys;
}

/** Product scope of a call: absent means "all products of the organization". */
export interface ProductScope {
  productName?: string | undefined;
}

/**
 * The one implementation of the management operations. REST and tRPC are two doors to it:
 * they parse their inputs with the same schemas and call these functions.
 */
export class ConnectionService {
  constructor(private readonly deps: ConnectionServiceDeps) {}

  /**
   * With an `idempotencyKey`, the same key and body within 24 h answer what the first create
   * answered (the connection is created once); another body is IDEMPOTENCY_KEY_REUSED, and a create
   * of that key still running is IDEMPOTENCY_KEY_IN_PROGRESS.
   */
  async create(
    ctx: RequestContext,
    input: CreateConnectionInput & ProductScope,
    options: { idempotencyKey?: string | undefined } = {},
  ): Promise<Connection> {
    const { idempotencyKey } = options;
    if (idempotencyKey === undefined) return this.insertNew(ctx, input, uuidv7());
    const keys = this.deps.idempotency;
    const organizationId = ctx.organizationId;
    const claim = await keys.claim(organizationId, idempotencyKey, input, uuidv7());
    switch (claim.kind) {
      case 'done':
        return claim.response;
      case 'in-flight': {
        // Its create may have stored the connection and stopped before recording the answer (a
        // process killed mid-answer): the connection as it is now is that answer.
        const stored = await this.deps.store.findById({ organizationId }, claim.connectionId);
        if (stored) return this.answerStored(ctx, idempotencyKey, input, stored);
        // Nothing stored, and the attempt holding the key is past its lease: make the create ourselves,
        // under the id the key holds.
        const isOurs =
          claim.isLeaseOver && (await keys.takeOver(organizationId, idempotencyKey, claim.connectionId));
        if (!isOurs) throw keys.inProgress();
        return this.createUnderKey(ctx, input, idempotencyKey, claim.connectionId);
      }
      case 'claimed':
        return this.createUnderKey(ctx, input, idempotencyKey, claim.connectionId);
    }
  }

  /** The create of an attempt that holds the key, under the connection id the key holds. */
  private async createUnderKey(
    ctx: RequestContext,
    input: CreateConnectionInput & ProductScope,
    idempotencyKey: string,
    connectionId: string,
  ): Promise<Connection> {
    const keys = this.deps.idempotency;
    const organizationId = ctx.organizationId;
    let created: Connection;
    try {
      created = await this.insertNew(ctx, input, connectionId);
    } catch (error) {
      const stored = await this.deps.store.findById({ organizationId }, connectionId).catch(() => undefined);
      // Stored after all, under the key's id: an earlier attempt's insert that landed late, or this
      // one's before a later step failed. It is this create's connection.
      if (stored) return this.answerStored(ctx, idempotencyKey, input, stored);
      // Refused (a 4xx): nothing was stored, the key is free again. Otherwise (the store did not
      // answer) the insert may still land: the key keeps its id and only the lease ends, so a retry
      // goes on at once under the same id.
      const isRefused = stored === null && error instanceof AppError && error.status < 500;
      const giveBack = isRefused
        ? keys.release(organizationId, idempotencyKey, connectionId)
        : keys.endLease(organizationId, idempotencyKey, connectionId);
      await giveBack.catch((cause) => {
        ctx.log.warn({ err: cause }, 'idempotency key not given back: it frees itself when its lease ends');
      });
      throw error;
    }
    await keys.complete(organizationId, idempotencyKey, input, created).catch((cause) => {
      // The connection is stored: a retry finds it through the in-flight claim.
      ctx.log.warn({ err: cause, connectionId: created.id }, 'idempotent create answered but not recorded');
    });
    return created;
  }

  /** The answer of a keyed create whose connection is stored: the connection as it is now, recorded for the key. */
  private async answerStored(
    ctx: RequestContext,
    idempotencyKey: string,
    input: CreateConnectionInput & ProductScope,
    stored: ConnectionRecord,
  ): Promise<Connection> {
    const connection = await this.deps.history.presentOne(stored);
    await this.deps.idempotency.complete(ctx.organizationId, idempotencyKey, input, connection);
    return connection;
  }

  private async insertNew(
    ctx: RequestContext,
    input: CreateConnectionInput & ProductScope,
    id: string,
  ): Promise<Connection> {
    await assertDialTargetAllowed(this.deps.egress, ctx, input);
    const now = new Date();
    const { password, ssl } = input;
    const record: ConnectionRecord = {
      id,
      organizationId: ctx.organizationId,
      configName: input.configName,
      productName: input.productName,
      type: input.type,
      host: input.host,
      port: input.port,
      databaseName: input.databaseName,
      userName: input.userName,
      schema: input.schema,
      sslMode: ssl?.mode,
      sealedSecrets: sealSecrets(
        this.deps.keyring,
        {
          password,
          ...(ssl?.ca ? { ca: ssl.ca } : {}),
          ...(ssl?.cert ? { cert: ssl.cert, key: ssl.key } : {}),
        },
        { organizationId: ctx.organizationId, connectionId: id },
      ),
      metadata: input.metadata ?? {},
      status: 'pending',
      version: 1,
      dialVersion: 1,
      createdAt: now,
      updatedAt: now,
      statusChangedAt: now,
      createdBy: ctx.subject,
      updatedBy: ctx.subject,
    };
    const { store } = this.deps;
    const created = changeEntry(ctx, record, 'created');
    // Where the store can, the record and its 'created' entry in one statement (one round trip).
    const historyWritten = store.insertWithHistory !== undefined;
    await this.underDialLimit(ctx, true, async () => {
      if (store.insertWithHistory) await store.insertWithHistory(record, created);
      else await store.insert(record);
      return record;
    });
    this.deps.onCreated?.(ctx.door);
    ctx.log.info(
      { connectionId: id, type: record.type, configNameKey: normaliseConfigName(record.configName) },
      'connection created',
    );
    // Side by side: neither waits for the other (both only log a failure), and the history orders
    // its entries by their time, not by when they were written (bench/README.md, P1).
    await Promise.all([
      historyWritten ? undefined : this.deps.history.append(ctx, created),
      this.requestVerification(ctx, record, 'created'),
    ]);
    return toConnection(record, undefined);
  }

  async get(ctx: RequestContext, id: string, scope: ProductScope = {}): Promise<Connection> {
    return this.deps.history.presentOne(await this.find(ctx, id, scope));
  }

  async list(
    ctx: RequestContext,
    query: ListConnectionsQuery,
    scope: ProductScope = {},
  ): Promise<ConnectionPage> {
    const { items, total } = await this.deps.store.list(
      { organizationId: ctx.organizationId, productName: scope.productName ?? query.productName },
      query,
    );
    const connections = await this.deps.history.present(ctx.organizationId, items);
    return { items: connections, page: query.page, limit: query.limit, total };
  }

  /**
   * Partial update (docs/contract.md §2 PATCH). A change to anything that is dialled bumps dialVersion, sets the
   * connection back to pending and enqueues a verification; a metadata- or name-only change does not,
   * unless it changes a metadata key the engine dials with (Oracle serviceName, MongoDB authSource).
   *
   * The write is conditional on the version read. With `expectedVersion` (If-Match) a conflict is the
   * caller's 412; without it the caller asked for an unconditional save, so a change that landed
   * between our read and our write is re-read and the input applied again on top of it.
   */
  async update(
    ctx: RequestContext,
    id: string,
    input: UpdateConnectionInput,
    options: ProductScope & { expectedVersion?: number | undefined } = {},
  ): Promise<Connection> {
    const scope = { organizationId: ctx.organizationId, productName: options.productName };
    for (let attempt = 1; ; attempt++) {
      const current = await this.find(ctx, id, options);
      if (options.expectedVersion !== undefined && options.expectedVersion !== current.version) {
        throw versionMismatch(id, current.version);
      }
      if (input.host !== undefined || input.port !== undefined || input.databaseName !== undefined) {
        await assertDialTargetAllowed(this.deps.egress, ctx, {
          host: input.host ?? current.host,
          port: input.port ?? current.port,
          databaseName: input.databaseName ?? current.databaseName,
        });
      }
      const changes = this.changesFor(current, input);
      if (!changes) return this.deps.history.presentOne(current);
      changes.updatedBy = ctx.subject;
      const updated = await this.underDialLimit(ctx, changes.redial, () =>
        this.deps.store.update(scope, id, changes, current.version),
      );
      if (updated) {
        ctx.log.info(
          { connectionId: id, version: updated.version, redial: changes.redial, attempt },
          'connection updated',
        );
        await this.deps.history.recordChange(ctx, updated, 'updated', changedFields(changes, input));
        await this.notify(ctx, updated, 'updated');
        if (changes.redial) await this.requestVerification(ctx, updated, 'updated');
        return this.deps.history.presentOne(updated);
      }
      // Someone else changed or deleted it between our read and our write: the next round re-reads.
      if (options.expectedVersion === undefined && attempt < UNCONDITIONAL_UPDATE_ATTEMPTS) continue;
      const now = await this.deps.store.findById(scope, id);
      if (!now) throw notFound(id);
      throw versionMismatch(id, now.version);
    }
  }

  /** What an update input changes on a record; null when nothing changes. */
  private changesFor(current: ConnectionRecord, input: UpdateConnectionInput): ConnectionChanges | null {
    const changes: ConnectionChanges = { redial: false };
    let changed = false;
    const dialled = ['type', 'host', 'port', 'databaseName', 'userName'] as const;
    for (const field of dialled) {
      const value = input[field];
      if (value !== undefined && value !== current[field]) {
        Object.assign(changes, { [field]: value });
        changes.redial = true;
        changed = true;
      }
    }
    if (input.schema !== undefined && (input.schema ?? undefined) !== current.schema) {
      changes.schema = input.schema ?? undefined;
      changes.redial = changed = true;
    }
    if (input.configName !== undefined && input.configName !== current.configName) {
      changes.configName = input.configName;
      changed = true;
    }
    if (input.metadata !== undefined && !sameMap(input.metadata, current.metadata)) {
      changes.metadata = input.metadata;
      changed = true;
      // metadata.serviceName (Oracle) and metadata.authSource (MongoDB) are dialled.
      if (dialledMetadataChanged(input.type ?? current.type, current.metadata, input.metadata)) {
        changes.redial = true;
      }
    }
    // Refuses a new destination or weaker TLS that does not carry the password again.
    const applied = secretsAfterChange(this.deps.keyring, current, input);
    if (applied?.changed) {
      const sealCtx = { organizationId: current.organizationId, connectionId: current.id };
      changes.sealedSecrets = sealSecrets(this.deps.keyring, applied.secrets, sealCtx);
      changes.sslMode = applied.sslMode;
      changes.redial = changed = true;
    }
    return changed ? changes : null;
  }

  /** Connections that no product has claimed yet (created through tRPC by internal apps). */
  async listUnassigned(ctx: RequestContext, query: ListConnectionsQuery): Promise<ConnectionPage> {
    const { items, total } = await this.deps.store.list(
      { organizationId: ctx.organizationId, productName: null },
      { ...query, productName: undefined },
    );
    const connections = await this.deps.history.present(ctx.organizationId, items);
    return { items: connections, page: query.page, limit: query.limit, total };
  }

  /** Gives an unassigned connection its product, once: the write is conditional on "no product yet". */
  async assign(ctx: RequestContext, id: string, productName: string): Promise<Connection> {
    const scope = { organizationId: ctx.organizationId };
    const assigned = await this.deps.store.update({ ...scope, productName: null }, id, {
      productName,
      redial: false,
      updatedBy: ctx.subject,
    });
    if (assigned) {
      ctx.log.info({ connectionId: id, productName }, 'connection assigned');
      await this.deps.history.recordChange(ctx, assigned, 'assigned', ['productName']);
      return this.deps.history.presentOne(assigned);
    }
    const existing = await this.deps.store.findById(scope, id);
    if (!existing) throw notFound(id);
    throw new AppError('ALREADY_ASSIGNED', `connection ${id} already belongs to a product`);
  }

  async delete(ctx: RequestContext, id: string, scope: ProductScope = {}): Promise<void> {
    const storeScope = { organizationId: ctx.organizationId, ...scope };
    const record = await this.deps.store.findById(storeScope, id);
    const deleted = record ? await this.deps.store.softDelete(storeScope, id) : false;
    if (!record || !deleted) throw notFound(id);
    await this.deps.history.recordChange(ctx, record, 'deleted');
    await this.notify(ctx, record, 'deleted');
    ctx.log.info({ connectionId: id }, 'connection deleted');
  }

  private async notify(ctx: RequestContext, record: ConnectionRecord, change: 'updated' | 'deleted') {
    try {
      await this.deps.afterChange?.(record, change, ctx);
    } catch (err) {
      ctx.log.warn({ err, connectionId: record.id, change }, 'after-change hook failed');
    }
  }

  private async find(ctx: RequestContext, id: string, scope: ProductScope): Promise<ConnectionRecord> {
    const record = await this.deps.store.findById({ organizationId: ctx.organizationId, ...scope }, id);
    if (!record) throw notFound(id);
    return record;
  }

  /**
   * Hands the connection to the worker. The record is already stored as pending, so if Redis is
   * down right now the sweeper re-enqueues it later: the create still succeeds, nothing is lost.
   */
  /**
   * Runs a write that will enqueue a dial under the organization's dial budget: taken before the
   * write (a 429 writes nothing), given back when nothing was written (a 409, a version conflict).
   */
  private async underDialLimit<T>(
    ctx: RequestContext,
    dials: boolean,
    write: () => Promise<T | null>,
  ): Promise<T | null> {
    if (!dials) return write();
    const { limiter, perOrganization } = this.deps.dials;
    const limit: Limit = { key: `organization:${ctx.organizationId}`, max: perOrganization };
    await limiter.consumeLeased('dial', limit);
    let written: T | null = null;
    try {
      written = await write();
      return written;
    } finally {
      if (written === null) await limiter.refundLeased('dial', limit).catch(() => undefined);
    }
  }

  private async requestVerification(
    ctx: RequestContext,
    record: ConnectionRecord,
    reason: VerifyConnectionJob['reason'],
  ): Promise<void> {
    try {
      await enqueueVerification(
        this.deps.verifyQueue,
        {
          connectionId: record.id,
          organizationId: record.organizationId,
          dialVersion: record.dialVersion,
          reason,
        },
        this.deps.retry,
      );
    } catch (err) {
      ctx.log.warn(
        { err, connectionId: record.id },
        'could not enqueue verification; the sweeper will retry',
      );
    }
  }
}

/**
 * Read-modify-write rounds of an update without If-Match before it gives up with 412. Each lost
 * round means another write landed in between, so this many in a row takes a hot spot of more
 * writers than any person editing one connection; the bound keeps a pathological loop finite.
 */
const UNCONDITIONAL_UPDATE_ATTEMPTS = 20;

const notFound = (id: string) => new AppError('NOT_FOUND', `connection ${id} was not found`);
const versionMismatch = (id: string, version: number) =>
  new AppError(
    'VERSION_MISMATCH',
    `connection ${id} is at version ${version}; re-read it and apply your change again`,
    {
      extra: { currentVersion: version },
    },
  );

/**
 * The names of the fields a change touched, as the caller knows them: `ssl` for the mode and the
 * certificates, `password` for a new password. Never a value.
 */
function changedFields(changes: ConnectionChanges, input: UpdateConnectionInput): string[] {
  const names = new Set<string>();
  for (const key of Object.keys(changes) as (keyof ConnectionChanges)[]) {
    if (key === 'redial' || key === 'updatedBy') continue;
    if (key === 'sslMode') continue;
    if (key === 'sealedSecrets') {
      if (input.password) names.add('password');
      if (input.ssl !== undefined) names.add('ssl');
      continue;
    }
    names.add(key);
  }
  if (Object.hasOwn(changes, 'sslMode') && input.ssl !== undefined) names.add('ssl');
  return [...names];
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
