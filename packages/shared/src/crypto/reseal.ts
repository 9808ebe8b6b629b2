import type { Logger } from '../logger.js';
import { type ConnectionStore, SEALED_KINDS, type SealedKind } from '../store/types.js';
import {
  connectionSealContext,
  currentKeyVersion,
  type Keyring,
  open,
  type SealContext,
  SealError,
  seal,
  sealedKeyVersion,
  webhookSealContext,
} from './seal.js';

/** What a re-sealing run did to one kind of record; every live one it saw is counted in exactly one of the last four. */
export interface ResealCounts {
  /** Live records looked at. */
  scanned: number;
  /** Were on an older key version and are now on `keyVersion`. */
  resealed: number;
  /** Were on `keyVersion` already. */
  alreadyCurrent: number;
  /**
   * Changed between being read and being written (a PATCH sealed new secrets, a webhook's secret
   * was rotated, or the record was deleted); left as they were. Whatever wrote them sealed with the
   * writer's newest key, so run again to confirm nothing is left on an old version.
   */
  skipped: number;
  /** Did not open (key version not configured here, damaged value, wrong record): logged by id. */
  failed: number;
}

/** What a re-sealing run did: connections' secrets and webhooks' signing secrets, counted apart. */
export interface ResealReport {
  /** The newest configured key version: everything re-sealed is now under it. */
  keyVersion: number;
  connections: ResealCounts;
  webhooks: ResealCounts;
}

export interface ResealOptions {
  /** Records read per store query. */
  batchSize?: number;
}

/** Big enough to make few round trips, small enough that one page is a short query on a live store. */
const DEFAULT_BATCH_SIZE = 200;

/** How each kind is sealed (its associated data), reported and logged. */
const KINDS: Record<
  SealedKind,
  { context: typeof connectionSealContext; report: 'connections' | 'webhooks'; idField: string }
> = {
  connection: { context: connectionSealContext, report: 'connections', idField: 'connectionId' },
  webhook: { context: webhookSealContext, report: 'webhooks', idField: 'webhookId' },
};

type ResealStore = Pick<ConnectionStore, 'listSealed' | 'replaceSealedSecrets'>;

/**
 * Key rotation (docs/contract.md §8): re-seals the secrets of every live connection, and the signing
 * secrets of every live webhook endpoint (the previous secret of a recent rotate-secret with them),
 * that are not on the newest configured key version yet, with that version. Each record is opened
 * with the key version it names, sealed again with the newest (same associated data), and written
 * only if it still holds the value that was read — so it is safe while the API and workers run, and
 * running it again does nothing more. Opened secrets stay in this function; a record that does not
 * open is logged with its id and the reason, never its content, and left untouched.
 *
 * Store failures are not per-record outcomes: they end the run (rerunning picks up where it stopped,
 * since finished records are current).
 */
export async function resealAll(
  store: ResealStore,
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
  const report: ResealReport = { keyVersion, connections: noCounts(), webhooks: noCounts() };
  for (const kind of SEALED_KINDS) {
    await resealKind(store, kind, keyring, log, batchSize, report[KINDS[kind].report]);
  }
  log.info(report, 're-sealing finished');
  return report;
}

const noCounts = (): ResealCounts => ({ scanned: 0, resealed: 0, alreadyCurrent: 0, skipped: 0, failed: 0 });

async function resealKind(
  store: ResealStore,
  kind: SealedKind,
  keyring: Keyring,
  log: Logger,
  batchSize: number,
  counts: ResealCounts,
): Promise<void> {
  const keyVersion = currentKeyVersion(keyring);
  let after: string | undefined;
  for (;;) {
    const page = await store.listSealed(kind, after, batchSize);
    for (const { id, organizationId, sealedSecrets } of page) {
      counts.scanned += 1;
      const ids = { [KINDS[kind].idField]: id, organizationId };
      let replacement: string;
      try {
        const version = sealedKeyVersion(sealedSecrets);
        if (version === keyVersion) {
          counts.alreadyCurrent += 1;
          continue;
        }
        if (version > keyVersion) {
          // Sealed by a process that has a newer key than this one: never move a record backwards.
          throw new SealError(
            `sealed with key version ${version}, newer than the newest configured here (${keyVersion})`,
          );
        }
        const context: SealContext = KINDS[kind].context({ organizationId, id });
        replacement = seal(keyring, open(keyring, sealedSecrets, context), context);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        counts.failed += 1;
        // SealError messages name the problem, never the value.
        log.error({ ...ids, kind, reason: error.message }, 'sealed secrets do not open');
        continue;
      }
      if (await store.replaceSealedSecrets(kind, organizationId, id, sealedSecrets, replacement)) {
        counts.resealed += 1;
        log.debug({ ...ids, kind, keyVersion }, 'secrets re-sealed');
      } else {
        counts.skipped += 1;
        log.info({ ...ids, kind }, `${kind} changed while re-sealing; left as it is`);
      }
    }
    if (page.length < batchSize) return;
    after = page.at(-1)?.id;
  }
}
