import {
  type ConnectionStore,
  DiscoverSchemaJobSchema,
  type Keyring,
  type Logger,
  type SchemaDiscoveryResult,
} from '@dbconn/shared';
import { type Job, UnrecoverableError } from 'bullmq';
import type { VerifyOptions } from '../engines/types.js';
import { discoverSchema } from '../verify/discover-schema.js';
import { dialSettings, secretsUnreadableError, tryOpenStoredSecrets } from './verify-connection.processor.js';

export interface DiscoverSchemaProcessorDeps {
  store: ConnectionStore;
  keyring: Keyring;
  log: Logger;
  verifyOptions: Omit<VerifyOptions, 'signal' | 'log'>;
  sampleSize: number;
}

/**
 * Discovers the tables and fields of a stored connection's schema. The API caches the result per
 * dialled version, so the job refuses to answer for settings that changed since it was queued.
 */
export function createDiscoverSchemaProcessor(deps: DiscoverSchemaProcessorDeps) {
  return async (
    job: Job<unknown, unknown>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<SchemaDiscoveryResult | null> => {
    const parsed = DiscoverSchemaJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid discover-schema payload');
    const { organizationId, connectionId, dialVersion } = parsed.data;
    const record = await deps.store.findById({ organizationId }, connectionId);
    if (!record || record.dialVersion !== dialVersion) return null;
    const log = deps.log.child({ jobId: job.id, connectionId, organizationId, job: job.name });
    const secrets = tryOpenStoredSecrets(deps.keyring, record, log);
    // The API answers this as it answers any database it cannot reach: 502 with the reason.
    if (!secrets) return { outcome: 'failed', error: secretsUnreadableError() };
    const result = await discoverSchema(dialSettings(record, secrets), {
      ...deps.verifyOptions,
      organizationId,
      sampleSize: deps.sampleSize,
      log,
      ...(signal ? { signal } : {}),
    });
    log.info(
      result.outcome === 'passed'
        ? { outcome: result.outcome, tables: result.tables.length }
        : { outcome: result.outcome, code: result.error.code },
      'schema discovered',
    );
    return result;
  };
}
