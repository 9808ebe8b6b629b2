import type { ConnectionStatus, ConnectionType } from '../../schemas/connection.schema.js';
import type { SslMode } from '../../schemas/ssl.schema.js';
import type { Verification } from '../../schemas/verification.schema.js';
import {
  type ConnectionRecord,
  type HistoryRecord,
  normaliseConfigName,
  type WebhookRecord,
} from '../types.js';

/** The PostgreSQL store's rows (connections, history, webhooks) and their mapping to records. */

export const COLUMNS = `id, organization_id, config_name, product_name, type, host, port, database_name, user_name,
  schema, ssl_mode, sealed_secrets, metadata, status, verification, version, dial_version, created_at,
  updated_at, status_changed_at, last_verified_at, created_by, updated_by, last_status_change_at`;

export interface ConnectionRow {
  id: string;
  organization_id: string;
  config_name: string;
  product_name: string | null;
  type: ConnectionType;
  host: string;
  port: number;
  database_name: string;
  user_name: string;
  schema: string | null;
  ssl_mode: SslMode | null;
  sealed_secrets: string;
  metadata: Record<string, string>;
  status: ConnectionStatus;
  verification: Verification | null;
  version: number;
  dial_version: number;
  created_at: Date;
  updated_at: Date;
  status_changed_at: Date;
  last_verified_at: Date | null;
  created_by: string | null;
  updated_by: string | null;
  last_status_change_at: Date | null;
}

export interface HistoryRow {
  id: string;
  organization_id: string;
  connection_id: string;
  product_name: string | null;
  at: Date;
  kind: HistoryRecord['kind'];
  details: Record<string, unknown>;
}

export function toRecord(row: ConnectionRow): ConnectionRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    configName: row.config_name,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    type: row.type,
    host: row.host,
    port: row.port,
    databaseName: row.database_name,
    userName: row.user_name,
    ...(row.schema !== null ? { schema: row.schema } : {}),
    ...(row.ssl_mode !== null ? { sslMode: row.ssl_mode } : {}),
    sealedSecrets: row.sealed_secrets,
    metadata: row.metadata,
    status: row.status,
    ...(row.verification !== null ? { verification: row.verification } : {}),
    version: row.version,
    dialVersion: row.dial_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    statusChangedAt: row.status_changed_at,
    ...(row.last_verified_at !== null ? { lastVerifiedAt: row.last_verified_at } : {}),
    ...(row.created_by !== null ? { createdBy: row.created_by } : {}),
    ...(row.updated_by !== null ? { updatedBy: row.updated_by } : {}),
    ...(row.last_status_change_at !== null ? { lastStatusChangeAt: row.last_status_change_at } : {}),
  };
}

export function toHistoryRecord(row: HistoryRow): HistoryRecord {
  return {
    ...row.details,
    id: row.id,
    organizationId: row.organization_id,
    connectionId: row.connection_id,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    at: row.at,
    kind: row.kind,
  } as HistoryRecord;
}

export const WEBHOOK_COLUMNS = `id, organization_id, url, events, product_name, sealed_secrets, enabled, disabled_reason,
  failure_streak, secret_rotated_at, created_at, updated_at`;

export interface WebhookRow {
  id: string;
  organization_id: string;
  url: string;
  events: WebhookRecord['events'];
  product_name: string | null;
  sealed_secrets: string;
  enabled: boolean;
  disabled_reason: string | null;
  failure_streak: number;
  secret_rotated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function toWebhookRecord(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    url: row.url,
    events: row.events,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    sealedSecrets: row.sealed_secrets,
    enabled: row.enabled,
    ...(row.disabled_reason !== null ? { disabledReason: row.disabled_reason } : {}),
    failureStreak: row.failure_streak,
    ...(row.secret_rotated_at !== null ? { secretRotatedAt: row.secret_rotated_at } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The columns a create writes (every column but deleted_at), in the order of its parameters. */
export const CONNECTION_INSERTED = [
  'id',
  'organization_id',
  'config_name',
  'config_name_key',
  'product_name',
  'type',
  'host',
  'port',
  'database_name',
  'user_name',
  'schema',
  'ssl_mode',
  'sealed_secrets',
  'metadata',
  'status',
  'verification',
  'version',
  'dial_version',
  'created_at',
  'updated_at',
  'status_changed_at',
  'last_verified_at',
  'created_by',
  'updated_by',
  'last_status_change_at',
] as const;
export const HISTORY_INSERTED = [
  'id',
  'organization_id',
  'connection_id',
  'product_name',
  'at',
  'kind',
  'details',
] as const;

/** A record as its row's columns; a jsonb column holds its value (an object), not its text. */
export function connectionRow(
  record: ConnectionRecord,
): Record<(typeof CONNECTION_INSERTED)[number], unknown> {
  return {
    id: record.id,
    organization_id: record.organizationId,
    config_name: record.configName,
    config_name_key: normaliseConfigName(record.configName),
    product_name: record.productName ?? null,
    type: record.type,
    host: record.host,
    port: record.port,
    database_name: record.databaseName,
    user_name: record.userName,
    schema: record.schema ?? null,
    ssl_mode: record.sslMode ?? null,
    sealed_secrets: record.sealedSecrets,
    metadata: record.metadata,
    status: record.status,
    verification: record.verification ?? null,
    version: record.version,
    dial_version: record.dialVersion,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    status_changed_at: record.statusChangedAt,
    last_verified_at: record.lastVerifiedAt ?? null,
    created_by: record.createdBy ?? null,
    updated_by: record.updatedBy ?? null,
    last_status_change_at: record.lastStatusChangeAt ?? null,
  };
}

export function historyRow(entry: HistoryRecord): Record<(typeof HISTORY_INSERTED)[number], unknown> {
  const { id, organizationId, connectionId, productName, at, kind, ...details } = entry;
  return {
    id,
    organization_id: organizationId,
    connection_id: connectionId,
    product_name: productName ?? null,
    at,
    kind,
    details,
  };
}

/** A row's values as statement parameters, in the columns' order; a jsonb value goes as its text. */
export function columnValues<Column extends string>(
  columns: readonly Column[],
  row: Record<Column, unknown>,
): unknown[] {
  return columns.map((column) => {
    const value = row[column];
    return value !== null && typeof value === 'object' && !(value instanceof Date)
      ? JSON.stringify(value)
      : value;
  });
}
