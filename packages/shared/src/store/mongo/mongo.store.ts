import type { Connection, Model, QueryFilter, UpdateQuery } from 'mongoose';
import mongoose from 'mongoose';
import type { ListConnectionsQuery } from '../../schemas/list.schema.js';
import type { Verification } from '../../schemas/verification.schema.js';
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
import {
  type ConnectionDoc,
  connectionSchema,
  DELIVERIES_TTL_INDEX,
  type DeliveryDoc,
  deliverySchema,
  HISTORY_TTL_INDEX,
  type HistoryDoc,
  historySchema,
  type SealedDoc,
  toDoc,
  toHistoryRecord,
  toPairs,
  toRecord,
  toWebhookRecord,
  type WebhookDoc,
  webhookSchema,
} from './documents.js';
import { toStoreError } from './errors.js';

/** MongoDB's "an index of this name exists with other options" (a changed HISTORY_RETENTION_DAYS). */
const INDEX_OPTIONS_CONFLICT = 85;

/**
 * The MongoDB store through mongoose (docs/contract.md §10), on its own connection (not mongoose's global one).
 * The database is the one named in the URL's path. Reads are lean and mapped to ConnectionRecord,
 * so no mongoose document leaves this class.
 *
 * `update` treats `schema` and `sslMode` present with the value `undefined` as "remove"; every other
 * field is changed only when it has a value.
 *
 * Over 400 lines for a reason: one method per operation of the ConnectionStore interface; the
 * documents, their mapping and the error mapping live beside it (documents.ts, errors.ts).
 */
export class MongoConnectionStore implements ConnectionStore {
  readonly kind = 'mongodb' as const;
  private readonly connection: Connection;
  private readonly model: Model<ConnectionDoc>;
  private readonly history: Model<HistoryDoc>;
  private readonly webhooks: Model<WebhookDoc>;
  private readonly deliveries: Model<DeliveryDoc>;
  private readonly historyRetentionDays: number;

  constructor(url: string, options: StoreOptions = DEFAULT_STORE_OPTIONS) {
    this.historyRetentionDays = options.historyRetentionDays ?? DEFAULT_HISTORY_RETENTION_DAYS;
    // Every wait is bounded by STORE_TIMEOUT_MS unless the URL sets its own: finding a server
    // (serverSelectionTimeoutMS), connecting (connectTimeoutMS), an answer on the socket
    // (socketTimeoutMS: a silent socket is destroyed, never reused) and the server's own work
    // (maxTimeMS on every query, set below).
    const fromUrl = (name: string, value: number) =>
      new RegExp(`[?&]${name}=`, 'i').test(url) ? {} : { [name]: value };
    this.connection = mongoose.createConnection(url, {
      // Fail fast when the server is away instead of queueing operations in memory.
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      ...fromUrl('serverSelectionTimeoutMS', options.timeoutMs),
      ...fromUrl('connectTimeoutMS', options.timeoutMs),
      ...fromUrl('socketTimeoutMS', options.timeoutMs),
      ...fromUrl('maxPoolSize', options.poolSize),
      // On a replica set an acknowledged write must survive a fail-over: retried once on the new
      // primary (retryWrites) and acknowledged only once a majority has it (w). The URL can say otherwise.
      ...(/[?&]retryWrites=/i.test(url) ? {} : { retryWrites: true }),
      ...(/[?&]w=/i.test(url) ? {} : { writeConcern: { w: 'majority' as const } }),
    });
    this.connection.set('maxTimeMS', options.timeoutMs);
    // Errors reach callers through each operation (as UNAVAILABLE); a listener also keeps a failed
    // first connection from becoming an unhandled rejection.
    this.connection.on('error', () => {});
    this.model = this.connection.model<ConnectionDoc>('Connection', connectionSchema);
    this.history = this.connection.model<HistoryDoc>('ConnectionHistory', historySchema);
    this.webhooks = this.connection.model<WebhookDoc>('Webhook', webhookSchema);
    this.deliveries = this.connection.model<DeliveryDoc>('WebhookDelivery', deliverySchema);
  }

  async init(): Promise<void> {
    // createIndexes, not syncIndexes: it never drops an index, so processes starting together (or an
    // older version still running) cannot undo each other. Building an existing index is a no-op.
    await this.run(() => this.model.createIndexes());
    await this.run(() => this.history.createIndexes());
    await this.run(() => this.webhooks.createIndexes());
    await this.run(() => this.deliveries.createIndexes());
    await this.run(() => this.ensureHistoryTtl());
  }

  /**
   * Retention on MongoDB is a TTL index on `at`: the server deletes expired entries itself. A new
   * HISTORY_RETENTION_DAYS changes the existing index in place (collMod), since createIndexes
   * refuses an index of the same name with other options.
   */
  private async ensureHistoryTtl(): Promise<void> {
    const expireAfterSeconds = this.historyRetentionDays * 86_400;
    // Delivery attempts of webhooks follow the same retention.
    for (const [name, index] of [
      ['connection_history', HISTORY_TTL_INDEX],
      ['webhook_deliveries', DELIVERIES_TTL_INDEX],
    ] as const) {
      const collection = this.connection.getClient().db().collection(name);
      try {
        await collection.createIndex({ at: 1 }, { name: index, expireAfterSeconds });
      } catch (error) {
        if (!(error instanceof mongoose.mongo.MongoServerError) || error.code !== INDEX_OPTIONS_CONFLICT)
          throw error;
        await this.connection
          .getClient()
          .db()
          .command({ collMod: name, index: { name: index, expireAfterSeconds } });
      }
    }
  }

  async ping(): Promise<void> {
    await this.run(async () => {
      await this.connection.getClient().db().command({ ping: 1 });
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  async insert(record: ConnectionRecord): Promise<void> {
    await this.run(async () => {
      await this.model.create(toDoc(record));
    });
  }

  async findById(scope: Scope, id: string): Promise<ConnectionRecord | null> {
    const doc = await this.run(() => this.model.findOne(liveFilter(scope, id)).lean<ConnectionDoc>().exec());
    return doc ? toRecord(doc) : null;
  }

  async findByConfigName(scope: Scope, configName: string): Promise<ConnectionRecord | null> {
    const { _id: _ignored, ...filter } = liveFilter(scope, '');
    const doc = await this.run(() =>
      this.model
        .findOne({ ...filter, configNameKey: normaliseConfigName(configName) })
        .lean<ConnectionDoc>()
        .exec(),
    );
    return doc ? toRecord(doc) : null;
  }

  async list(scope: Scope, query: ListConnectionsQuery): Promise<ListResult> {
    const conditions: QueryFilter<ConnectionDoc>[] = [
      { organizationId: scope.organizationId, deleted: false },
    ];
    for (const productName of [scope.productName, query.productName]) {
      if (productName !== undefined) conditions.push({ productName });
    }
    if (query.type) conditions.push({ type: query.type });
    if (query.status) conditions.push({ status: query.status });
    if (query.warning) conditions.push({ 'verification.warnings.code': query.warning });
    const { from, before } = createdAtRange(query);
    if (from) conditions.push({ createdAt: { $gte: from } });
    if (before) conditions.push({ createdAt: { $lt: before } });
    for (const [k, v] of Object.entries(query.metadata ?? {})) {
      conditions.push({ metadata: { $elemMatch: { k, v } } });
    }
    const filter: QueryFilter<ConnectionDoc> = { $and: conditions };
    const direction = query.sortOrder === 'asc' ? 1 : -1;
    const [docs, total] = await this.run(() =>
      Promise.all([
        this.model
          .find(filter)
          .sort({ createdAt: direction, _id: direction })
          .skip((query.page - 1) * query.limit)
          .limit(query.limit)
          .lean<ConnectionDoc[]>()
          .exec(),
        this.model.countDocuments(filter).exec(),
      ]),
    );
    return { items: docs.map(toRecord), total };
  }

  async softDelete(scope: Scope, id: string): Promise<boolean> {
    const result = await this.run(() =>
      this.model.updateOne(liveFilter(scope, id), { $set: { deleted: true, deletedAt: new Date() } }).exec(),
    );
    return result.matchedCount > 0;
  }

  async update(
    scope: Scope,
    id: string,
    changes: ConnectionChanges,
    expectedVersion?: number,
  ): Promise<ConnectionRecord | null> {
    const now = new Date();
    const $set: Partial<ConnectionDoc> = { updatedAt: now };
    const $unset: Partial<Record<keyof ConnectionDoc, 1>> = {};
    const $inc: Partial<Record<keyof ConnectionDoc, number>> = { version: 1 };
    if (changes.updatedBy !== undefined) $set.updatedBy = changes.updatedBy;
    else $unset.updatedBy = 1;
    if (changes.configName !== undefined) {
      $set.configName = changes.configName;
      $set.configNameKey = normaliseConfigName(changes.configName);
    }
    if (changes.productName !== undefined) $set.productName = changes.productName;
    if (changes.type !== undefined) $set.type = changes.type;
    if (changes.host !== undefined) $set.host = changes.host;
    if (changes.port !== undefined) $set.port = changes.port;
    if (changes.databaseName !== undefined) $set.databaseName = changes.databaseName;
    if (changes.userName !== undefined) $set.userName = changes.userName;
    if (changes.schema !== undefined) $set.schemaName = changes.schema;
    else if (Object.hasOwn(changes, 'schema')) $unset.schemaName = 1;
    if (changes.sslMode !== undefined) $set.sslMode = changes.sslMode;
    else if (Object.hasOwn(changes, 'sslMode')) $unset.sslMode = 1;
    if (changes.sealedSecrets !== undefined) $set.sealedSecrets = changes.sealedSecrets;
    if (changes.metadata !== undefined) $set.metadata = toPairs(changes.metadata);
    if (changes.redial) {
      $inc.dialVersion = 1;
      $set.status = 'pending';
      $set.statusChangedAt = now;
    }
    // MongoDB refuses an empty `$unset`.
    const update: UpdateQuery<ConnectionDoc> = {
      $set,
      $inc,
      ...(Object.keys($unset).length > 0 ? { $unset } : {}),
    };
    const filter = {
      ...liveFilter(scope, id),
      ...(expectedVersion !== undefined ? { version: expectedVersion } : {}),
    };
    const doc = await this.run(() =>
      this.model.findOneAndUpdate(filter, update, { returnDocument: 'after' }).lean<ConnectionDoc>().exec(),
    );
    return doc ? toRecord(doc) : null;
  }

  async markVerifying(
    organizationId: string,
    id: string,
    dialVersion: number,
    options: { unlessSettledSince?: Date } = {},
  ): Promise<ConnectionRecord | null> {
    const since = options.unlessSettledSince;
    const doc = await this.run(() =>
      this.model
        .findOneAndUpdate(
          {
            ...liveFilter({ organizationId }, id),
            dialVersion,
            // `$gte` never matches a missing date, so a record never verified is always taken.
            ...(since
              ? { $nor: [{ status: { $in: ['active', 'failed'] }, lastVerifiedAt: { $gte: since } }] }
              : {}),
          },
          { $set: { status: 'verifying', statusChangedAt: new Date() } },
          { returnDocument: 'after' },
        )
        .lean<ConnectionDoc>()
        .exec(),
    );
    return doc ? toRecord(doc) : null;
  }

  async recordVerification(
    organizationId: string,
    id: string,
    dialVersion: number,
    status: 'active' | 'failed',
    verification: Verification,
    options: { statusChanged?: boolean } = {},
  ): Promise<boolean> {
    const now = new Date();
    const result = await this.run(() =>
      this.model
        .updateOne(
          {
            ...liveFilter({ organizationId }, id),
            dialVersion,
            // Not settled by a dial that started later (`$lte` a date never matches null: hence $or).
            $or: [
              { status: { $nin: ['active', 'failed'] } },
              { lastVerifiedAt: null },
              { lastVerifiedAt: { $lte: new Date(verification.checkedAt) } },
            ],
          },
          {
            $set: {
              status,
              verification,
              lastVerifiedAt: new Date(verification.checkedAt),
              statusChangedAt: now,
              updatedAt: now,
              ...(options.statusChanged ? { lastStatusChangeAt: now } : {}),
            },
          },
        )
        .exec(),
    );
    return result.matchedCount > 0;
  }

  async findStranded(olderThan: Date, limit: number, after?: StrandedCursor): Promise<ConnectionRecord[]> {
    const docs = await this.run(() =>
      this.model
        .find({
          status: { $in: ['pending', 'verifying'] },
          statusChangedAt: { $lt: olderThan },
          deleted: false,
          ...(after
            ? {
                $or: [
                  { statusChangedAt: { $gt: after.statusChangedAt } },
                  { statusChangedAt: after.statusChangedAt, _id: { $gt: after.id } },
                ],
              }
            : {}),
        })
        .sort({ statusChangedAt: 1, _id: 1 })
        .limit(limit)
        .lean<ConnectionDoc[]>()
        .exec(),
    );
    return docs.map(toRecord);
  }

  async findDueForReverification(olderThan: Date, limit: number): Promise<ConnectionRecord[]> {
    const docs = await this.run(() =>
      this.model
        .find({
          status: { $in: ['active', 'failed'] },
          // `$lt` a date never matches a missing or null field (BSON type bracketing).
          lastVerifiedAt: { $lt: olderThan },
          deleted: false,
        })
        .sort({ lastVerifiedAt: 1, _id: 1 })
        .limit(limit)
        .lean<ConnectionDoc[]>()
        .exec(),
    );
    return docs.map(toRecord);
  }

  async requeue(
    organizationId: string,
    id: string,
    dialVersion: number,
    staleBefore: Date,
  ): Promise<boolean> {
    const result = await this.run(() =>
      this.model
        .updateOne(
          {
            ...liveFilter({ organizationId }, id),
            dialVersion,
            status: { $in: ['pending', 'verifying'] },
            statusChangedAt: { $lt: staleBefore },
          },
          { $set: { status: 'pending', statusChangedAt: new Date() } },
        )
        .exec(),
    );
    return result.matchedCount > 0;
  }

  async listSealed(
    kind: SealedKind,
    after: string | undefined,
    limit: number,
  ): Promise<SealedSecretsEntry[]> {
    // Ids are lower-case UUID strings, so `_id` order is PostgreSQL's uuid order; the `_id` index
    // serves the sort and the range.
    const docs = await this.run(() =>
      this.sealedModel(kind)
        .find({ deleted: false, ...(after !== undefined ? { _id: { $gt: after.toLowerCase() } } : {}) })
        .select({ _id: 1, organizationId: 1, sealedSecrets: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<Pick<SealedDoc, '_id' | 'organizationId' | 'sealedSecrets'>[]>()
        .exec(),
    );
    return docs.map((doc) => ({
      id: doc._id,
      organizationId: doc.organizationId,
      sealedSecrets: doc.sealedSecrets,
    }));
  }

  async replaceSealedSecrets(
    kind: SealedKind,
    organizationId: string,
    id: string,
    expected: string,
    replacement: string,
  ): Promise<boolean> {
    const result = await this.run(() =>
      this.sealedModel(kind)
        .updateOne(
          { _id: id.toLowerCase(), organizationId, deleted: false, sealedSecrets: expected },
          { $set: { sealedSecrets: replacement } },
        )
        .exec(),
    );
    return result.matchedCount > 0;
  }

  /** The collection of each kind of sealed record, through the fields both kinds' documents share. */
  private sealedModel(kind: SealedKind): Model<SealedDoc> {
    const model = kind === 'connection' ? this.model : this.webhooks;
    // mongoose's Model type is invariant in its document, so a model of a wider document is not
    // assignable to one of the shared fields; every query made through this one names only those.
    return model as unknown as Model<SealedDoc>;
  }

  async appendHistory(entry: HistoryRecord): Promise<void> {
    const { id, organizationId, connectionId, productName, at, kind, ...details } = entry;
    await this.run(async () => {
      await this.history.create({
        _id: id.toLowerCase(),
        organizationId,
        connectionId: connectionId.toLowerCase(),
        ...(productName !== undefined ? { productName } : {}),
        at,
        kind,
        details,
      });
    });
  }

  async listHistory(
    organizationId: string,
    connectionId: string,
    page: { limit: number; before?: string | undefined },
  ): Promise<HistoryRecord[]> {
    const docs = await this.run(() =>
      this.history
        .find({
          organizationId,
          connectionId: connectionId.toLowerCase(),
          // The TTL monitor runs about once a minute: expired entries are hidden until it does.
          at: { $gte: historyCutoff(this.historyRetentionDays) },
          ...(page.before !== undefined ? { _id: { $lt: page.before.toLowerCase() } } : {}),
        })
        .sort({ _id: -1 })
        .limit(page.limit)
        .lean<HistoryDoc[]>()
        .exec(),
    );
    return docs.map(toHistoryRecord);
  }

  async tallyVerifications(
    organizationId: string,
    connectionIds: readonly string[],
    since: Date,
  ): Promise<Map<string, VerificationTally>> {
    if (connectionIds.length === 0) return new Map();
    const groups = await this.run(() =>
      this.history
        .aggregate<{ _id: { connectionId: string; status: string }; n: number }>([
          {
            $match: {
              organizationId,
              connectionId: { $in: connectionIds.map((id) => id.toLowerCase()) },
              kind: 'verification',
              at: { $gte: since },
            },
          },
          { $group: { _id: { connectionId: '$connectionId', status: '$details.status' }, n: { $sum: 1 } } },
        ])
        .exec(),
    );
    const tallies = new Map<string, VerificationTally>();
    for (const { _id, n } of groups) {
      const tally = tallies.get(_id.connectionId) ?? { passed: 0, total: 0 };
      tally.total += Number(n);
      if (_id.status === 'active') tally.passed += Number(n);
      tallies.set(_id.connectionId, tally);
    }
    return tallies;
  }

  async insertWebhook(record: WebhookRecord): Promise<void> {
    const { id, ...rest } = record;
    await this.run(async () => {
      await this.webhooks.create({ ...rest, _id: id.toLowerCase(), deleted: false });
    });
  }

  async findWebhook(organizationId: string, id: string): Promise<WebhookRecord | null> {
    const doc = await this.run(() =>
      this.webhooks
        .findOne({ _id: id.toLowerCase(), organizationId, deleted: false })
        .lean<WebhookDoc>()
        .exec(),
    );
    return doc ? toWebhookRecord(doc) : null;
  }

  async listWebhooks(organizationId: string): Promise<WebhookRecord[]> {
    const docs = await this.run(() =>
      this.webhooks
        .find({ organizationId, deleted: false })
        .sort({ createdAt: 1, _id: 1 })
        .lean<WebhookDoc[]>()
        .exec(),
    );
    return docs.map(toWebhookRecord);
  }

  async updateWebhook(
    organizationId: string,
    id: string,
    changes: WebhookChanges,
  ): Promise<WebhookRecord | null> {
    const $set: Record<string, unknown> = { updatedAt: new Date() };
    const $unset: Record<string, 1> = {};
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      if (value === null) $unset[key] = 1;
      else $set[key] = value;
    }
    const doc = await this.run(() =>
      this.webhooks
        .findOneAndUpdate(
          { _id: id.toLowerCase(), organizationId, deleted: false },
          { $set, ...(Object.keys($unset).length > 0 ? { $unset } : {}) },
          { returnDocument: 'after' },
        )
        .lean<WebhookDoc>()
        .exec(),
    );
    return doc ? toWebhookRecord(doc) : null;
  }

  async deleteWebhook(organizationId: string, id: string): Promise<boolean> {
    const result = await this.run(() =>
      this.webhooks
        .updateOne({ _id: id.toLowerCase(), organizationId, deleted: false }, { $set: { deleted: true } })
        .exec(),
    );
    return result.matchedCount > 0;
  }

  async recordDeliveryAttempt(delivery: WebhookDeliveryRecord, disableAfter: number): Promise<void> {
    const { id, ...rest } = delivery;
    await this.run(async () => {
      await this.deliveries.create({ ...rest, _id: id });
    });
    const filter = {
      _id: delivery.webhookId.toLowerCase(),
      organizationId: delivery.organizationId,
      deleted: false,
    };
    if (delivery.outcome === 'delivered') {
      await this.run(() => this.webhooks.updateOne(filter, { $set: { failureStreak: 0 } }).exec());
      return;
    }
    // $inc is atomic; turning off is a second, conditional write on the counted streak.
    await this.run(() => this.webhooks.updateOne(filter, { $inc: { failureStreak: 1 } }).exec());
    await this.run(() =>
      this.webhooks
        .updateOne(
          { ...filter, enabled: true, failureStreak: { $gte: disableAfter } },
          { $set: { enabled: false, disabledReason: disabledAfter(disableAfter) } },
        )
        .exec(),
    );
  }

  async listDeliveries(
    organizationId: string,
    webhookId: string,
    limit: number,
  ): Promise<WebhookDeliveryRecord[]> {
    const docs = await this.run(() =>
      this.deliveries
        .find({ organizationId, webhookId: webhookId.toLowerCase() })
        .sort({ _id: -1 })
        .limit(limit)
        .lean<DeliveryDoc[]>()
        .exec(),
    );
    return docs.map(({ _id, statusCode, error, ...rest }) => ({
      id: _id,
      ...rest,
      ...(statusCode != null ? { statusCode } : {}),
      ...(error != null ? { error } : {}),
    }));
  }

  /** The TTL index on `at` deletes expired entries on the server; nothing to do here. */
  async purgeHistory(): Promise<number> {
    return 0;
  }

  /** Waits for the first connection, runs `work`, and maps driver errors to AppErrors. */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      await this.connection.asPromise();
      return await work();
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/** A live record of the scope. Ids are stored lower-case (as PostgreSQL prints a uuid). */
function liveFilter(scope: Scope, id: string) {
  return {
    _id: id.toLowerCase(),
    organizationId: scope.organizationId,
    deleted: false,
    ...(scope.productName !== undefined ? { productName: scope.productName } : {}),
  };
}
