import type { Verification } from '@dbconn/shared';
import { compileEgressPolicy, type EgressConfigError, type EgressPolicy } from '../egress/policy.js';
import { loadEngine } from '../engines/index.js';
import { tlsPolicyFor } from '../engines/ssl-options.js';
import type {
  DialSettings,
  EgressPolicyConfig,
  EngineAdapter,
  ServerReport,
  VerifyOptions,
} from '../engines/types.js';
import { type FailureContext, VERIFICATION_CODES } from './codes.js';
import { openSocket, resolveAllowed } from './network.js';
import { StageFailure } from './stage-failure.js';
import { StageRunner } from './stage-runner.js';

export { isTransientCode } from './codes.js';

/** How long one release (a polite close) may take before the verification returns anyway. */
const RELEASE_WAIT_MS = 1_000;

const compiledPolicies = new WeakMap<EgressPolicyConfig, EgressPolicy>();

function egressPolicy(config: EgressPolicyConfig): EgressPolicy {
  let policy = compiledPolicies.get(config);
  if (!policy) {
    policy = compileEgressPolicy(config);
    compiledPolicies.set(config, policy);
  }
  return policy;
}

/** Releases registered by the stages; run once, whatever the outcome, and never throw. */
class Releases {
  private readonly releases: (() => unknown)[] = [];

  add(release: () => unknown): void {
    this.releases.push(release);
  }

  /** Each release gets a bounded wait: a driver that dawdles while closing must not hold the result. */
  async runAll(): Promise<void> {
    for (const release of this.releases.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(release),
          new Promise((resolve) => {
            timer = setTimeout(resolve, RELEASE_WAIT_MS);
          }),
        ]);
      } catch {
        // Closing is best effort: the resource is gone either way.
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/**
 * Verifies one connection stage by stage (spec §6): dns → tcp → tls → auth → database → schema.
 * Never throws for anything the database, the network or the settings do: every failure is a
 * result. Every socket and client it opened is closed before it returns. The only throw is an
 * {@link EgressConfigError} for an invalid allow/deny list — an operator's mistake, which
 * `compileEgressPolicy` can catch at start.
 */
export async function verifyConnection(
  settings: DialSettings,
  options: VerifyOptions,
): Promise<Verification> {
  const startedAt = performance.now();
  const checkedAt = new Date().toISOString();
  const stages = new StageRunner(options, startedAt);
  const releases = new Releases();
  const report: ServerReport = {};
  const policy = egressPolicy(options.egress);
  let engine: EngineAdapter | undefined;

  try {
    engine = await loadEngine(settings.type);
    const addresses = await stages.run('dns', () => resolveAllowed(settings.host, policy, options.log));
    const { socket, address } = await stages.run('tcp', async (signal) => {
      const opened = await openSocket(addresses, settings.port, signal);
      // A socket that connects after the deadline still has to be closed.
      if (signal.aborted) opened.socket.destroy();
      return opened;
    });
    releases.add(() => socket.destroy());
    await engine.verify({
      settings,
      address,
      socket,
      tls: tlsPolicyFor(settings),
      stages,
      stageTimeoutMs: options.stageTimeoutMs,
      defer: (release) => releases.add(release),
      report,
    });
  } catch (error) {
    // Failures inside a stage are already recorded; anything else is a bug between stages.
    if (!(error instanceof StageFailure)) stages.recordUnexpected(error);
  } finally {
    await releases.runAll();
  }

  const failed = stages.failure;
  if (failed?.failure.code === 'UNEXPECTED_ERROR') {
    options.log?.error(
      { err: failed.failure.cause, stage: failed.stage, type: settings.type },
      'unexpected verification error',
    );
  }
  const context: FailureContext = {
    engine: engine?.displayName ?? settings.type,
    host: settings.host,
    port: settings.port,
    user: settings.userName,
    database: settings.databaseName,
    schema: settings.schema ?? engine?.defaultSchema(settings) ?? '',
    sslMode: settings.ssl?.mode ?? 'disable',
    stage: failed?.stage ?? 'dns',
    timeoutMs: failed?.budgetMs ?? 0,
  };
  const entry = failed ? VERIFICATION_CODES[failed.failure.code] : undefined;

  return {
    outcome: failed ? 'failed' : 'passed',
    checkedAt,
    latencyMs: Math.round(performance.now() - startedAt),
    stages: stages.stages(),
    ...(failed && entry
      ? {
          error: {
            stage: failed.stage,
            code: failed.failure.code,
            message: (failed.failure.spec.message ?? entry.message)(context),
            hint: (failed.failure.spec.hint ?? entry.hint)(context),
          },
        }
      : {}),
    ...(report.version || report.tls
      ? {
          server: {
            ...(report.version ? { version: report.version } : {}),
            ...(report.tls ? { tls: report.tls } : {}),
          },
        }
      : {}),
  };
}
