import type { StageResult, VerificationError, Warning, WarningCode, WarningContext } from '@dbconn/shared';
import {
  CERT_EXPIRY_WARNING_DAYS,
  compileEgressPolicy,
  type EgressPolicy,
  type EgressPolicyConfig,
  endOfLife,
  type FailureContext,
  isWeakTlsVersion,
  MONGODB_SRV_METADATA_KEY,
  toWarning,
  VERIFICATION_CODES,
  type VerificationCode,
  WARNING_CODES as WARNING_ORDER,
} from '@dbconn/shared';
import { loadEngine } from '../engines/index.js';
import { tlsPolicyFor } from '../engines/ssl-options.js';
import type {
  DialSettings,
  EngineAdapter,
  EngineContext,
  ServerReport,
  VerifyOptions,
} from '../engines/types.js';
import { StageFailure } from '../failures/stage-failure.js';
import { openSocket, resolveAllowed, resolveSrvAllowed } from './network.js';
import { StageRunner } from './stage-runner.js';

/** How long one release (a polite close) may take before the dial returns anyway. */
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

/** The schema a dial checks (docs/contract.md §4): the connection's, else the engine's default. The one place this is decided. */
const effectiveSchema = (engine: EngineAdapter, settings: DialSettings) =>
  settings.schema ?? engine.defaultSchema(settings);

/** A `mongodb+srv://` connection: its host is an SRV name, looked up in the dns stage. */
const isSrvName = (settings: DialSettings) =>
  settings.type === 'MONGODB' && settings.metadata[MONGODB_SRV_METADATA_KEY] === 'true';

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
 * Work done on the verified connection after the schema stage (schema discovery). It runs under
 * the same deadlines as a stage and is reported at the schema stage when it fails.
 */
export interface FinalStep<T> {
  /** The code when the step runs out of time. */
  timeoutCode: VerificationCode;
  /**
   * `schema` is the one the dial checked. At the deadline the dial stops waiting and its releases
   * close the client, which ends whatever the step still had in flight.
   */
  run(engine: EngineAdapter, ctx: EngineContext, schema: string): Promise<T>;
}

interface DialReport {
  checkedAt: string;
  latencyMs: number;
  /** Every stage in order; a final step is not a stage and does not appear. */
  stages: StageResult[];
  server: ServerReport;
  /** The schema the dial checked: the connection's, or the engine's default. */
  schema: string;
}

/**
 * How a dial ended: `error` is what the user sees, `value` what the final step returned, `warnings`
 * what a pass should know (docs/contract.md §12; empty when none).
 */
export type DialOutcome<T> = DialReport &
  ({ passed: false; error: VerificationError } | { passed: true; value: T; warnings: Warning[] });

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The warnings read off what the dial reported (negotiated TLS, certificate, server version) and
 * the ones the engine noted, in catalogue order, each once, limited to what the engine declares.
 */
function warningsOf(
  engine: EngineAdapter,
  settings: DialSettings,
  report: ServerReport,
  noted: Map<WarningCode, Partial<WarningContext>>,
  base: WarningContext,
): Warning[] {
  const found = new Map(noted);
  const now = new Date();
  if (report.tls) {
    if (isWeakTlsVersion(report.tls.version))
      found.set('TLS_VERSION_WEAK', { tlsVersion: report.tls.version });
    const expires = report.tls.certExpiresAt ? Date.parse(report.tls.certExpiresAt) : Number.NaN;
    if (!Number.isNaN(expires) && expires - now.getTime() <= CERT_EXPIRY_WARNING_DAYS * DAY_MS)
      found.set('CERT_EXPIRES_SOON', { certExpiresAt: report.tls.certExpiresAt });
    // Encrypted, but the server's name was not checked against its certificate.
    if (settings.ssl?.mode !== 'verify-full') found.set('TLS_IDENTITY_UNCHECKED', {});
  }
  const eol = report.version ? endOfLife(settings.type, report.version, now) : undefined;
  if (eol) found.set('SERVER_VERSION_EOL', eol);
  return WARNING_ORDER.filter((code) => found.has(code) && engine.warnings.includes(code)).map((code) =>
    toWarning(code, { ...base, ...found.get(code) }),
  );
}

/**
 * The one dialling pipeline (docs/contract.md §6): dns → tcp → tls → auth → database → schema, each stage
 * under its deadline and the egress policy, then the optional final step on the same connection.
 * Never throws for anything the database, the network or the settings do: every failure is an
 * outcome. Every socket and client it opened is closed before it returns. The only throw is an
 * EgressConfigError for an invalid allow/deny list — an operator's mistake, which
 * `compileEgressPolicy` can catch at start.
 */
export async function dial(settings: DialSettings, options: VerifyOptions): Promise<DialOutcome<undefined>>;
export async function dial<T>(
  settings: DialSettings,
  options: VerifyOptions,
  finalStep: FinalStep<T>,
): Promise<DialOutcome<T>>;
export async function dial<T>(
  given: DialSettings,
  options: VerifyOptions,
  finalStep?: FinalStep<T>,
): Promise<DialOutcome<T | undefined>> {
  /** The settings as dialled: an SRV name's target replaces its host and port after the dns stage. */
  let settings = given;
  const startedAt = performance.now();
  const checkedAt = new Date().toISOString();
  const stages = new StageRunner({ ...options, engine: given.type }, startedAt);
  const releases = new Releases();
  const report: ServerReport = {};
  const policy = egressPolicy(options.egress);
  let engine: EngineAdapter | undefined;
  let value: T | undefined;
  const noted = new Map<WarningCode, Partial<WarningContext>>();
  /** The connection's schema, or the engine's default once the engine is known. */
  let schema = settings.schema ?? '';

  try {
    const loaded = await loadEngine(settings.type);
    engine = loaded;
    schema = effectiveSchema(loaded, settings);
    const resolveOptions = {
      log: options.log,
      lookup: options.lookup,
      organizationId: options.organizationId,
      self: options.selfTargets && {
        targets: options.selfTargets,
        port: settings.port,
        database: settings.databaseName,
      },
    };
    const addresses = await stages.run('dns', async () => {
      if (!isSrvName(settings)) return resolveAllowed(settings.host, policy, resolveOptions);
      const target = await resolveSrvAllowed(settings.host, policy, {
        ...resolveOptions,
        srvLookup: options.srvLookup,
      });
      // TLS checks the target's name, as the MongoDB drivers do for +srv members.
      settings = { ...settings, host: target.host, port: target.port };
      return target.addresses;
    });
    const { socket, address } = await stages.run('tcp', async (signal) => {
      const opened = await openSocket(addresses, settings.port, signal);
      // A socket that connects after the deadline still has to be closed.
      if (signal.aborted) opened.socket.destroy();
      return opened;
    });
    releases.add(() => socket.destroy());
    report.address = address;
    const ctx: EngineContext = {
      settings,
      schema,
      address,
      socket,
      tls: tlsPolicyFor(settings),
      stages,
      stageTimeoutMs: options.stageTimeoutMs,
      defer: (release) => releases.add(release),
      report,
      warn: (code, details = {}) => noted.set(code, details),
    };
    await loaded.verify(ctx);
    if (finalStep) {
      value = await stages.runAfter('schema', finalStep.timeoutCode, () =>
        finalStep.run(loaded, ctx, ctx.schema),
      );
    }
  } catch (error) {
    // Failures inside a stage are already recorded; anything else is a bug between stages.
    if (!(error instanceof StageFailure)) stages.recordUnexpected(error);
  } finally {
    await releases.runAll();
  }

  const dialled: DialReport = {
    checkedAt,
    latencyMs: Math.round(performance.now() - startedAt),
    stages: stages.stages(),
    server: report,
    schema,
  };
  const failed = stages.failure;
  const described = {
    engine: engine?.displayName ?? settings.type,
    host: settings.host,
    port: settings.port,
    user: settings.userName,
    database: settings.databaseName,
    schema,
    sslMode: settings.ssl?.mode ?? 'disable',
  } as const;
  if (!failed) {
    const warnings = engine ? warningsOf(engine, settings, report, noted, described) : [];
    return { ...dialled, passed: true, value, warnings };
  }

  const { failure, stage, budgetMs } = failed;
  if (failure.code === 'UNEXPECTED_ERROR') {
    options.log?.error({ err: failure.cause, stage, type: settings.type }, 'unexpected verification error');
  }
  const context: FailureContext = { ...described, stage, timeoutMs: budgetMs };
  const entry = VERIFICATION_CODES[failure.code];
  return {
    ...dialled,
    passed: false,
    error: {
      stage,
      code: failure.code,
      message: (failure.spec.message ?? entry.message)(context),
      hint: (failure.spec.hint ?? entry.hint)(context),
    },
  };
}
