import type { Verification } from '@dbconn/shared';
import type { DialSettings, VerifyOptions } from '../engines/types.js';
import { dial } from './dial.js';

export { isTransientCode } from '@dbconn/shared';

/**
 * Verifies one connection stage by stage (docs/contract.md §6): dns → tcp → tls → auth → database → schema.
 * Never throws for anything the database, the network or the settings do: every failure is a
 * result. Every socket and client it opened is closed before it returns. The only throw is an
 * EgressConfigError for an invalid allow/deny list — an operator's mistake, which
 * `compileEgressPolicy` can catch at start.
 */
export async function verifyConnection(
  settings: DialSettings,
  options: VerifyOptions,
): Promise<Verification> {
  const outcome = await dial(settings, options);
  const { version, tls, address } = outcome.server;
  return {
    outcome: outcome.passed ? 'passed' : 'failed',
    checkedAt: outcome.checkedAt,
    latencyMs: outcome.latencyMs,
    stages: outcome.stages,
    ...(outcome.passed ? {} : { error: outcome.error }),
    ...(outcome.passed && outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {}),
    ...(version || tls || address
      ? {
          server: {
            ...(version ? { version } : {}),
            ...(address ? { address } : {}),
            ...(tls ? { tls } : {}),
          },
        }
      : {}),
  };
}
