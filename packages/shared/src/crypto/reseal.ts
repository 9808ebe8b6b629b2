import type { Logger } from '../logger.js';
import type { ConnectionStore } from '../store/types.js';
import { currentKeyVersion, type Keyring, open, SealError, seal, sealedKeyVersion } from './seal.js';

/** What a re-sealing run did; every live connection it saw is counted in exactly one of the last four. */
export interface ResealReport {
  /** The newest configured key version: everything re-sealed is now under it. */
  keyVersion: number;
  /** Live connections looked at. */
  scanned: number;
  /** Were on an older key version and are now on `keyVersion`. */
  resealed: number;
  /** Were on `keyVersion` already. */
  alreadyCurrent: number;
  /**
   * Changed between being read and being written (a PATCH sealed new secrets, or the connection was
   * deleted); left as they were. Whatever wrote them sealed with the writer's newest key, so run
   * again to confirm nothing is left on an old version.
   */
  skipped: number;
  /** Did not open (key version not configured here, damaged value, wrong record): logged by id. */
  failed: number;
}

export interface ResealOptions {
  /** Connections read per store query. */
  batchSize?: number;
}

/** Big enough to make few round trips, small enough that one page is a short query on a live store. */
const DEFAULT_BATCH_SIZE = 200;

/**
 * Key rotation (docs/contract.md §8): re-seals the secrets of every live connection that is not on the newest
 * configured key version yet, with that version. Each record is opened with the key version it
 * names, sealed again with the newest (same organization and connection id as associated data), and
 * written only if it still holds the value that was read — so it is safe while the API and workers
 * run, and running it again does nothing more. Opened secrets stay in this function; a record that
 * does not open is logged with its id and the reason, never its content, and left untouched.
 *
 * Store failures are not per-record outcomes: they end the run (rerunning picks up where it stopped,
 * since finished records are current).
 */
export async function resealAll(
  store: Pick<ConnectionStore, 'listSealed' | 'replaceSealedSecrets'>,
  keyring: Keyring,
  log: Logger,
  options: ResealOptions = {},
): Promise<ResealReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError('batchSize must be a positive whole number');
  }
  if (keyring.keys.size === 0) throw new RangeError('the keyring has no key');
  const keyVersion = currentKeyVersion(keyring);
  const report: ResealReport = {
    keyVersion,
    scanned: 0,
    resealed: 0,
    alreadyCurrent: 0,
    skipped: 0,
    failed: 0,
  };

  let after: string | undefined;
  for (;;) {
    const page = await store.listSealed(after, batchSize);
    for (const { id: connectionId, organizationId, sealedSecrets } of page) {
      report.scanned += 1;
      let replacement: string;
      try {
        const version = sealedKeyVersion(sealedSecrets);
        if (version === keyVersion) {
          report.alreadyCurrent += 1;
          continue;
        }
        if (version > keyVersion) {
          // Sealed by a process that has a newer key than this one: never move a record backwards.
          throw new SealError(
            `sealed with key version ${version}, newer than the newest configured here (${keyVersion})`,
          );
        }
        const context = { organizationId, connectionId };
        replacement = seal(keyring, open(keyring, sealedSecrets, context), context);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        report.failed += 1;
        // SealError messages name the problem, never the value.
        log.error({ connectionId, organizationId, reason: error.message }, 'sealed secrets do not open');
        continue;
      }
      if (await store.replaceSealedSecrets(organizationId, connectionId, sealedSecrets, replacement)) {
        report.resealed += 1;
        log.debug({ connectionId, organizationId, keyVersion }, 'secrets re-sealed');
      } else {
        report.skipped += 1;
        log.info({ connectionId, organizationId }, 'connection changed while re-sealing; left as it is');
      }
    }
    if (page.length < batchSize) break;
    after = page.at(-1)?.id;
  }
  log.info(report, 're-sealing finished');
  return report;
}
