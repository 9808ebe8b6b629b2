import type { ConnectionType } from '@dbconn/shared';
import type { EngineAdapter } from './types.js';

/**
 * The adapter of an engine. Loaded on first use, so a worker that never meets an Oracle
 * connection never loads the Oracle driver.
 */
export async function loadEngine(type: ConnectionType): Promise<EngineAdapter> {
  switch (type) {
    case 'POSTGRESQL':
      return (await import('./postgres.js')).postgres;
    case 'MYSQL':
      return (await import('./mysql.js')).mysql;
    case 'SQL_SERVER':
      return (await import('./sqlserver.js')).sqlServer;
    case 'ORACLE':
      return (await import('./oracle.js')).oracle;
    case 'MONGODB':
      return (await import('./mongodb.js')).mongodb;
    default: {
      const unknown: never = type;
      throw new Error(`no engine adapter for ${String(unknown)}`);
    }
  }
}

export type { DialSettings, EngineAdapter, VerifyOptions } from './types.js';
