import mongoose from 'mongoose';
import type { ConnectionStatus, ConnectionType } from '../../schemas/connection.schema.js';
import type { SslMode } from '../../schemas/ssl.schema.js';
import type { Verification } from '../../schemas/verification.schema.js';
import {
  type ConnectionRecord,
  type HistoryRecord,
  normaliseConfigName,
  type WebhookDeliveryRecord,
  type WebhookRecord,
} from '../types.js';

/** The MongoDB store's documents (connections, history, webhooks and their deliveries): mongoose schemas, indexes, and the mapping to records. */

export const CONFIG_NAME_INDEX = 'organization_config_name_live';

/**
 * A stored connection as MongoDB holds it. It differs from ConnectionRecord where MongoDB needs it:
 * - `_id` is the UUID string;
 * - `schemaName` instead of `schema` (a mongoose document already has a `schema` property);
 * - `metadata` is a list of `{k, v}` pairs: user keys may contain `.` or start with `$`, which
 *   MongoDB cannot query (or `$set`) safely as field names;
 * - `deleted` next to `deletedAt`, because a partial index filter cannot match a missing/null date.
 */
export interface ConnectionDoc {
  _id: string;
  organizationId: string;
  configName: string;
  configNameKey: string;
  productName?: string | null;
  type: ConnectionType;
  host: string;
  port: number;
  databaseName: string;
  userName: string;
  schemaName?: string | null;
  sslMode?: SslMode | null;
  sealedSecrets: string;
  metadata: { k: string; v: string }[];
  status: ConnectionStatus;
  verification?: Verification | null;
  version: number;
  dialVersion: number;
  createdAt: Date;
  updatedAt: Date;
  statusChangedAt: Date;
  lastVerifiedAt?: Date | null;
  createdBy?: string | null;
  updatedBy?: string | null;
  lastStatusChangeAt?: Date | null;
  deleted: boolean;
  deletedAt: Date | null;
}

export const connectionSchema = new mongoose.Schema<ConnectionDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    configName: { type: String, required: true },
    configNameKey: { type: String, required: true },
    productName: { type: String },
    type: { type: String, required: true },
    host: { type: String, required: true },
    port: { type: Number, required: true },
    databaseName: { type: String, required: true },
    userName: { type: String, required: true },
    schemaName: { type: String },
    sslMode: { type: String },
    sealedSecrets: { type: String, required: true },
    // `v` is not `required`: mongoose's required rejects '', and an empty value is valid metadata.
    metadata: {
      type: [{ _id: false, k: { type: String, required: true }, v: { type: String } }],
      default: [],
    },
    status: { type: String, required: true },
    verification: { type: mongoose.Schema.Types.Mixed },
    version: { type: Number, required: true },
    dialVersion: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    statusChangedAt: { type: Date, required: true },
    lastVerifiedAt: { type: Date },
    // The subject of the caller (never the token); absent for records written while auth was off.
    createdBy: { type: String },
    updatedBy: { type: String },
    lastStatusChangeAt: { type: Date },
    deleted: { type: Boolean, required: true, default: false },
    deletedAt: { type: Date, default: null },
  },
  {
    collection: 'connections',
    // Timestamps and versions are ours (spec semantics), not mongoose's `timestamps` / `__v`.
    versionKey: false,
    timestamps: false,
    // Keep `{}` inside a verification result as written.
    minimize: false,
    // Indexes are built by init(), not in the background when the model is first used.
    autoIndex: false,
    autoCreate: false,
  },
);

connectionSchema.index(
  { organizationId: 1, configNameKey: 1 },
  { name: CONFIG_NAME_INDEX, unique: true, partialFilterExpression: { deleted: false } },
);
connectionSchema.index({ organizationId: 1, createdAt: 1, _id: 1 }, { name: 'organization_created' });
connectionSchema.index({ status: 1, statusChangedAt: 1 }, { name: 'status_changed' });
// list(?warning=CODE): the latest verification's warning codes, per organization.
connectionSchema.index(
  { organizationId: 1, 'verification.warnings.code': 1 },
  { name: 'verification_warnings', sparse: true },
);
// Periodic re-verification: oldest lastVerifiedAt first. Not partial on status: most live records
// are active or failed anyway, so the filter on status and deleted costs little.
connectionSchema.index({ lastVerifiedAt: 1, _id: 1 }, { name: 'last_verified' });

/**
 * A history entry (docs/contract.md §11). `details` holds the kind's own fields (action, fields,
 * subject; or reason, status, stage, code, latencyMs) as written.
 */
export interface HistoryDoc {
  _id: string;
  organizationId: string;
  connectionId: string;
  productName?: string | null;
  at: Date;
  kind: HistoryRecord['kind'];
  details: Record<string, unknown>;
}

export const historySchema = new mongoose.Schema<HistoryDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    connectionId: { type: String, required: true },
    productName: { type: String },
    at: { type: Date, required: true },
    kind: { type: String, required: true },
    details: { type: mongoose.Schema.Types.Mixed, required: true },
  },
  {
    collection: 'connection_history',
    versionKey: false,
    timestamps: false,
    minimize: false,
    autoIndex: false,
    autoCreate: false,
  },
);
historySchema.index({ organizationId: 1, connectionId: 1, _id: -1 }, { name: 'history_connection' });
export const HISTORY_TTL_INDEX = 'history_ttl';
export const DELIVERIES_TTL_INDEX = 'deliveries_ttl';

export const toPairs = (metadata: Record<string, string>) =>
  Object.entries(metadata).map(([k, v]) => ({ k, v }));

export function toDoc(record: ConnectionRecord): ConnectionDoc {
  return {
    _id: record.id.toLowerCase(),
    organizationId: record.organizationId,
    configName: record.configName,
    configNameKey: normaliseConfigName(record.configName),
    ...(record.productName !== undefined ? { productName: record.productName } : {}),
    type: record.type,
    host: record.host,
    port: record.port,
    databaseName: record.databaseName,
    userName: record.userName,
    ...(record.schema !== undefined ? { schemaName: record.schema } : {}),
    ...(record.sslMode !== undefined ? { sslMode: record.sslMode } : {}),
    sealedSecrets: record.sealedSecrets,
    metadata: toPairs(record.metadata),
    status: record.status,
    ...(record.verification !== undefined ? { verification: record.verification } : {}),
    version: record.version,
    dialVersion: record.dialVersion,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    statusChangedAt: record.statusChangedAt,
    ...(record.lastVerifiedAt !== undefined ? { lastVerifiedAt: record.lastVerifiedAt } : {}),
    ...(record.createdBy !== undefined ? { createdBy: record.createdBy } : {}),
    ...(record.updatedBy !== undefined ? { updatedBy: record.updatedBy } : {}),
    deleted: false,
    deletedAt: null,
  };
}

export function toRecord(doc: ConnectionDoc): ConnectionRecord {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    configName: doc.configName,
    ...(doc.productName != null ? { productName: doc.productName } : {}),
    type: doc.type,
    host: doc.host,
    port: doc.port,
    databaseName: doc.databaseName,
    userName: doc.userName,
    ...(doc.schemaName != null ? { schema: doc.schemaName } : {}),
    ...(doc.sslMode != null ? { sslMode: doc.sslMode } : {}),
    sealedSecrets: doc.sealedSecrets,
    metadata: Object.fromEntries((doc.metadata ?? []).map(({ k, v }) => [k, v ?? ''])),
    status: doc.status,
    ...(doc.verification != null ? { verification: doc.verification } : {}),
    version: doc.version,
    dialVersion: doc.dialVersion,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    statusChangedAt: doc.statusChangedAt,
    ...(doc.lastVerifiedAt != null ? { lastVerifiedAt: doc.lastVerifiedAt } : {}),
    ...(doc.lastStatusChangeAt != null ? { lastStatusChangeAt: doc.lastStatusChangeAt } : {}),
    ...(doc.createdBy != null ? { createdBy: doc.createdBy } : {}),
    ...(doc.updatedBy != null ? { updatedBy: doc.updatedBy } : {}),
  };
}

export function toHistoryRecord(doc: HistoryDoc): HistoryRecord {
  return {
    ...doc.details,
    id: doc._id,
    organizationId: doc.organizationId,
    connectionId: doc.connectionId,
    ...(doc.productName != null ? { productName: doc.productName } : {}),
    at: doc.at,
    kind: doc.kind,
  } as HistoryRecord;
}

/** A webhook as MongoDB holds it: the record with `_id`, and `deleted` for the live filter. */
export type WebhookDoc = Omit<WebhookRecord, 'id'> & { _id: string; deleted: boolean };

/** What a connection and a webhook document have in common, and key rotation reads and writes. */
export type SealedDoc = Pick<
  ConnectionDoc & WebhookDoc,
  '_id' | 'organizationId' | 'sealedSecrets' | 'deleted'
>;
export const webhookSchema = new mongoose.Schema<WebhookDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    url: { type: String, required: true },
    events: { type: [String], required: true },
    productName: { type: String },
    sealedSecrets: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    disabledReason: { type: String },
    failureStreak: { type: Number, required: true },
    secretRotatedAt: { type: Date },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    deleted: { type: Boolean, required: true, default: false },
  },
  { collection: 'webhooks', versionKey: false, timestamps: false, autoIndex: false, autoCreate: false },
);
webhookSchema.index({ organizationId: 1, createdAt: 1, _id: 1 }, { name: 'webhooks_organization' });

export type DeliveryDoc = Omit<WebhookDeliveryRecord, 'id'> & { _id: string };
export const deliverySchema = new mongoose.Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    organizationId: { type: String, required: true },
    webhookId: { type: String, required: true },
    messageId: { type: String, required: true },
    event: { type: String, required: true },
    attempt: { type: Number, required: true },
    at: { type: Date, required: true },
    outcome: { type: String, required: true },
    statusCode: { type: Number },
    latencyMs: { type: Number, required: true },
    error: { type: String },
  },
  {
    collection: 'webhook_deliveries',
    versionKey: false,
    timestamps: false,
    autoIndex: false,
    autoCreate: false,
  },
);
deliverySchema.index({ organizationId: 1, webhookId: 1, _id: -1 }, { name: 'deliveries_webhook' });

export function toWebhookRecord(doc: WebhookDoc): WebhookRecord {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    url: doc.url,
    events: [...doc.events],
    ...(doc.productName != null ? { productName: doc.productName } : {}),
    sealedSecrets: doc.sealedSecrets,
    enabled: doc.enabled,
    ...(doc.disabledReason != null ? { disabledReason: doc.disabledReason } : {}),
    failureStreak: doc.failureStreak,
    ...(doc.secretRotatedAt != null ? { secretRotatedAt: doc.secretRotatedAt } : {}),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}
