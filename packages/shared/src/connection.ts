import type { Connection } from './schemas/connection.schema.js';
import type { ConnectionRecord } from './store/types.js';

/** The public resource of a stored record (spec §1): no secret, no sealed blob, no key id. */
export function toConnection(record: ConnectionRecord): Connection {
  return {
    id: record.id,
    configName: record.configName,
    ...(record.productName ? { productName: record.productName } : {}),
    type: record.type,
    host: record.host,
    port: record.port,
    databaseName: record.databaseName,
    userName: record.userName,
    ...(record.schema ? { schema: record.schema } : {}),
    ...(record.sslMode ? { ssl: { mode: record.sslMode } } : {}),
    metadata: record.metadata,
    status: record.status,
    ...(record.verification ? { verification: record.verification } : {}),
    ...(record.lastVerifiedAt ? { lastVerifiedAt: record.lastVerifiedAt.toISOString() } : {}),
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}
