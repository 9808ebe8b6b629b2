import type { Socket } from 'node:net';
import type {
  DialSettings,
  DiscoveredTable,
  EgressPolicyConfig,
  Logger,
  SelfTargets,
  StageName,
  StageResult,
  Verification,
  VerificationCode,
  WarningCode,
  WarningContext,
} from '@dbconn/shared';
import type { DiscoveryOptions } from './discovery.js';
import type { TlsPolicy } from './ssl-options.js';

/** Resolves a host name to its addresses (the dns stage's lookup). */
export type HostLookup = (host: string) => Promise<string[]>;
/** SRV records of a name (`mongodb+srv://`), as node's resolveSrv returns them. */
export type SrvLookup = (
  name: string,
) => Promise<{ name: string; port: number; priority: number; weight: number }[]>;

export interface VerifyOptions {
  /** Deadline of the whole verification. */
  timeoutMs: number;
  /** Deadline of each stage. */
  stageTimeoutMs: number;
  /** Egress policy (docs/contract.md §8), applied to every resolved address before dialling. */
  egress: EgressPolicyConfig;
  /** The organization the dial is for: its EGRESS_TENANT_ALLOW list applies. */
  organizationId?: string;
  /** The service's own endpoints: a target among them fails with SELF_TARGET_FORBIDDEN. */
  selfTargets?: SelfTargets;
  /** Aborts the verification (worker shutdown); the result then ends with ABORTED. */
  signal?: AbortSignal;
  /**
   * Resolves a host name to its addresses (the dns stage); `dns.lookup` with every address by
   * default. Every address it returns still goes through the egress policy. Tests give a name
   * chosen addresses with it.
   */
  lookup?: HostLookup;
  /** Told of each stage as it finishes, in order (the processors publish it for live progress). */
  onStage?: (result: StageResult) => void;
  /** SRV records for `mongodb+srv://` names (the dns stage); node's resolveSrv by default. */
  srvLookup?: SrvLookup;
  /** Receives the cause of unexpected errors and the egress rule behind a refusal; never shown to users. */
  log?: Logger;
}

/** TLS as negotiated, for `server.tls` of the result. */
export interface TlsInfo {
  version: string;
  cipher: string;
  certExpiresAt?: string;
}

/** What the engine learnt about the server, for `server` of the result. */
export interface ServerReport {
  version?: string;
  /** The address the tcp stage connected to (the name may resolve to several). */
  address?: string;
  tls?: TlsInfo;
}

/**
 * What an engine does with the stages of its verification: run one under its deadline, or record
 * one that does not apply. verify/stage-runner.ts implements it; declared here so an adapter never
 * imports the pipeline that calls it.
 */
export interface Stages {
  /**
   * Runs `stage`; returns its value, or throws the StageFailure that ended the verification.
   * `skippedWhen` turns a result into a skipped stage with a code (TLS under `prefer` when the
   * server has none).
   */
  run<T>(
    stage: StageName,
    work: (signal: AbortSignal) => Promise<T>,
    options?: { skippedWhen?: (value: T) => VerificationCode | undefined },
  ): Promise<T>;
  /** Records a stage that does not run (TLS under `disable`). */
  skip(stage: StageName, code?: VerificationCode): void;
}

export interface EngineContext {
  settings: DialSettings;
  /** The schema to check: the connection's, or the engine's default (worked out once, by the dial). */
  schema: string;
  /** The address the dns stage checked and the tcp stage connected to. Drivers dial this, never the name. */
  address: string;
  /** Connected to `address` by the tcp stage; from here the engine owns it (hand it to the driver or close it). */
  socket: Socket;
  tls: TlsPolicy;
  stages: Stages;
  /** For drivers that want a timeout of their own; the stage runner enforces the real deadline. */
  stageTimeoutMs: number;
  /** Registers a release (close a client, destroy a socket) that runs when the verification ends. */
  defer(release: () => unknown): void;
  report: ServerReport;
  /**
   * Notes a warning the engine found (docs/contract.md §12), with what its text may say. Only a
   * passing verification carries them; a code the adapter does not declare in `warnings` is a bug.
   */
  warn(code: WarningCode, details?: Partial<WarningContext>): void;
}

/** One per engine (engines/<engine>.ts), dispatched by type in engines/index.ts. */
export interface EngineAdapter {
  /** For messages: `PostgreSQL`, `MySQL`... */
  displayName: string;
  /** The schema checked when the connection names none (docs/contract.md §4). */
  defaultSchema(settings: DialSettings): string;
  /**
   * The warnings this adapter can detect (docs/contract.md §12): the ones it notes with
   * `ctx.warn`, and the ones the dial derives from what it reports (TLS, certificate, version).
   */
  warnings: readonly WarningCode[];
  /** Runs the tls, auth, database and schema stages through `ctx.stages`. */
  verify(ctx: EngineContext): Promise<void>;
  /**
   * Lists the tables and views (MongoDB: collections) of `schema` and their fields, on the
   * connection `verify(ctx)` logged in with; called only after it passed, with the same `ctx`.
   * Tables and fields are in code-point order, at most MAX_DISCOVERED_TABLES tables
   * (`discovery.ts`). Driver errors are thrown classified (StageFailure); the dial's deadline and
   * releases apply as to any stage.
   */
  discover(ctx: EngineContext, schema: string, options: DiscoveryOptions): Promise<DiscoveredTable[]>;
}

export type { DialSettings, DiscoveredTable, DiscoveryOptions, StageName, Verification };
