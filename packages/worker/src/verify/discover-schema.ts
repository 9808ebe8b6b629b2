import type { SchemaDiscoveryResult } from '@dbconn/shared';
import type { DialSettings, VerifyOptions } from '../engines/types.js';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { dial } from './dial.js';

export interface DiscoverSchemaOptions extends VerifyOptions {
  /** MongoDB: documents sampled per collection for its field names (config `schema.sampleSize`). */
  sampleSize: number;
}

/**
 * Discovers the tables (or collections) of a connection's schema and their fields (docs/contract.md §2,
 * GET /{id}/schema): the same dial as verifyConnection — every stage, the egress policy, the
 * deadlines — then the engine's `discover` on the verified connection, under a stage's deadline.
 *
 * - A stage failing ends with the error verifyConnection would give.
 * - Discovery failing is reported at the `schema` stage: PERMISSION_DENIED when the server refuses
 *   the catalog query, CONNECTION_LOST / SERVER_BUSY as anywhere, DISCOVERY_TIMEOUT at the
 *   deadline, and DISCOVERY_FAILED for any other server error (its answer goes to the log only).
 * - Passed: `schema` is the one discovered (the connection's, or the engine's default); tables and
 *   fields in code-point order, at most 1000 tables (engines/discovery.ts).
 *
 * Never throws for anything the database, the network or the settings do.
 */
export async function discoverSchema(
  settings: DialSettings,
  options: DiscoverSchemaOptions,
): Promise<SchemaDiscoveryResult> {
  const { sampleSize, ...verifyOptions } = options;
  const outcome = await dial(settings, verifyOptions, {
    timeoutCode: 'DISCOVERY_TIMEOUT',
    run: async (engine, ctx, schema) => {
      try {
        return await engine.discover(ctx, schema, { sampleSize, log: options.log });
      } catch (error) {
        throw asDiscoveryFailure(error, options);
      }
    },
  });
  return outcome.passed
    ? { outcome: 'passed', schema: outcome.schema, tables: outcome.value }
    : { outcome: 'failed', error: outcome.error };
}

/**
 * Engines classify a server error they do not know as PROTOCOL_ERROR ("this is not a PostgreSQL
 * server"), which is true during a login but not after one: here it is an answer to the catalog
 * query. Anything that is not a classified failure stays a bug (UNEXPECTED_ERROR).
 */
function asDiscoveryFailure(error: unknown, options: Pick<VerifyOptions, 'log'>): unknown {
  if (!(error instanceof StageFailure) || error.code !== 'PROTOCOL_ERROR') return error;
  options.log?.warn({ err: error.cause }, 'schema discovery query failed');
  return fail('DISCOVERY_FAILED', error.cause);
}
