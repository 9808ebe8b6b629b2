import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Connection,
  type ConnectionEvent,
  type ConnectionStatus,
  type ConnectionStore,
  type DialSettings,
  type EgressGuard,
  ERROR_CATALOGUE,
  type ErrorCode,
  JOB_NAMES,
  type Keyring,
  RETRY_AFTER_SECONDS,
  type Redis,
  type StageName,
  type StageResult,
  seal,
  type TestResult,
  type TestSettingsInput,
  testSettingsKey,
  type Verification,
} from '@dbconn/shared';
import { callerKey, type RequestContext } from '../context.js';
import type { ConnectionEvents } from './connection-events.js';
import type { ProductScope } from './connections.service.js';
import { assertDialTargetAllowed } from './dial-targets.js';
import type { HistoryService } from './history.service.js';
import type { InteractiveClient } from './interactive.client.js';
import type { RateLimiter } from './rate-limiter.js';
import { secretsAfterChange, storedSecretsFor } from './secrets.js';

export interface VerificationServiceDeps {
  store: ConnectionStore;
  /** Presents records with their availability. */
  history: HistoryService;
  keyring: Keyring;
  redis: Redis;
  prefix: string;
  interactive: InteractiveClient;
  limiter: RateLimiter;
  limits: { perConnection: number; perCaller: number; perOrganization: number };
  events: ConnectionEvents;
  /** How long sealed trial settings may wait in Redis for a worker. */
  settingsTtlSeconds: number;
  /** Judges a host written as an IP address before the trial is queued (docs/contract.md §8). */
  egress?: EgressGuard;
}

/**
 * What a watcher receives: the connection as it is at each status change; with `stages` asked for,
 * also each stage of the running verification as the worker finishes it (`stage` set, the
 * connection as last seen).
 */
export interface WatchEvent {
  status: ConnectionStatus;
  connection: Connection;
  stage?: StageResult;
}

/**
 * What a live trial's watcher receives: each stage as the worker finishes it, then the result — or,
 * when the trial could not run to a result after the stream opened (no worker in time, the queue
 * down), the error, as data. A trial runs once, so that error is the answer: thrown into the stream
 * it would make a tRPC client reconnect (its codes are the retryable ones) only to find the trial
 * already taken, and the caller would see NOT_FOUND instead of the cause.
 */
export type TrialUpdate =
  | { kind: 'stage'; stage: StageResult }
  | { kind: 'result'; result: TestResult }
  | { kind: 'error'; error: TrialError };

/** Why a trial ended without a result: the catalogue code and message, as a thrown error would say. */
export interface TrialError {
  code: ErrorCode;
  message: string;
  /** Seconds a caller should wait before starting a new trial, when the cause is a dependency. */
  retryAfter?: number;
}

/**
 * Who started a live trial (the caller key: organization and subject, or address while auth is
 * off), kept beside its sealed settings with the same lifetime.
 */
const trialOwnerKey = (prefix: string, trialId: string) => `${prefix}:trial-owner:${trialId}`;

const SETTLED: ReadonlySet<ConnectionStatus> = new Set(['active', 'failed']);

/** Test now, try before save, and the live status feed. Every dial happens in the worker. */
export class VerificationService {
  constructor(private readonly deps: VerificationServiceDeps) {}

  /** POST /{id}/test: verify the stored connection now, record the result, answer it. */
  async test(ctx: RequestContext, id: string, scope: ProductScope = {}): Promise<TestResult> {
    const record = await this.deps.store.findById({ organizationId: ctx.organizationId, ...scope }, id);
    if (!record) throw new AppError('NOT_FOUND', `connection ${id} was not found`);
    await this.limit(ctx, record.id);
    const verification = await this.deps.interactive.run<Verification | null>(JOB_NAMES.testConnection, {
      organizationId: ctx.organizationId,
      connectionId: id,
      dialVersion: record.dialVersion,
    });
    if (!verification) throw new AppError('NOT_FOUND', `connection ${id} was deleted during the test`);
    ctx.log.info(
      { connectionId: id, outcome: verification.outcome, code: verification.error?.code },
      'connection tested',
    );
    return toTestResult(verification);
  }

  /**
   * POST /test: verify settings that are never stored. They reach the worker sealed in a short-lived
   * Redis key (never in job data), bound to this organization and request.
   */
  async testSettings(
    ctx: RequestContext,
    input: TestSettingsInput,
    scope: ProductScope = {},
  ): Promise<TestResult> {
    const requestId = await this.stashSettings(ctx, input, scope);
    try {
      const verification = await this.deps.interactive.run<Verification>(JOB_NAMES.testSettings, {
        organizationId: ctx.organizationId,
        requestId,
      });
      ctx.log.info(
        { basedOn: input.id, outcome: verification.outcome, code: verification.error?.code },
        'settings tested',
      );
      return toTestResult(verification);
    } finally {
      await this.deleteSettings(requestId);
    }
  }

  /**
   * connections.startTrial: try before save, watched live. The settings are checked, counted and
   * sealed as for POST /test, but nothing runs until the trial is watched (`watchTrial`), so the
   * watcher cannot miss a stage. The settings travel in this call's body; the watch (an EventSource:
   * its input is in the URL) carries only the trial id. The id is random (122 bits) and only the
   * caller who started the trial (organization and subject) can watch it, once, within the
   * settings' lifetime.
   */
  async startTrial(
    ctx: RequestContext,
    input: TestSettingsInput,
    scope: ProductScope = {},
  ): Promise<{ trialId: string }> {
    const trialId = await this.stashSettings(ctx, input, scope);
    await this.redisCall(() =>
      this.deps.redis.set(
        trialOwnerKey(this.deps.prefix, trialId),
        callerKey(ctx),
        'EX',
        this.deps.settingsTtlSeconds,
      ),
    );
    return { trialId };
  }

  /**
   * connections.watchTrial: runs a started trial on the worker and streams each stage as the worker
   * finishes it, then the result. Every stage of the result is streamed before the result, even one
   * whose live message was lost. Another caller's (or an unknown, expired or already watched) trial
   * is NOT_FOUND, answered before the stream opens.
   */
  async watchTrial(
    ctx: RequestContext,
    trialId: string,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<TrialUpdate>> {
    await this.claimTrial(ctx, trialId);
    return this.runTrial(ctx, trialId, signal);
  }

  private async *runTrial(
    ctx: RequestContext,
    trialId: string,
    signal?: AbortSignal,
  ): AsyncGenerator<TrialUpdate> {
    const arrived: StageResult[] = [];
    let wake: (() => void) | undefined;
    // Subscribed before the job is queued: no stage can finish unheard.
    const unsubscribe = await this.deps.events.subscribeTrial(trialId, (event) => {
      arrived.push(event.stage);
      wake?.();
    });
    try {
      let outcome: { verification: Verification } | { error: unknown } | undefined;
      void this.deps.interactive
        .run<Verification>(JOB_NAMES.testSettings, { organizationId: ctx.organizationId, requestId: trialId })
        .then(
          (verification) => {
            outcome = { verification };
          },
          (error: unknown) => {
            outcome = { error };
          },
        )
        .finally(() => wake?.());
      const shown = new Set<StageName>();
      while (!signal?.aborted) {
        for (let stage = arrived.shift(); stage; stage = arrived.shift()) {
          if (shown.has(stage.name)) continue;
          shown.add(stage.name);
          yield { kind: 'stage', stage };
        }
        if (outcome) break;
        await new Promise<void>((resolve) => {
          const done = () => {
            signal?.removeEventListener('abort', done);
            resolve();
          };
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
        });
        wake = undefined;
      }
      if (!outcome) return;
      if ('error' in outcome) {
        yield { kind: 'error', error: trialError(ctx, trialId, outcome.error) };
        return;
      }
      const { verification } = outcome;
      for (const stage of verification.stages) if (!shown.has(stage.name)) yield { kind: 'stage', stage };
      ctx.log.info(
        { trialId, outcome: verification.outcome, code: verification.error?.code },
        'settings tested live',
      );
      yield { kind: 'result', result: toTestResult(verification) };
    } finally {
      await unsubscribe();
      await this.deleteSettings(trialId);
    }
  }

  /**
   * connections.watch: the connection now, then at each status change, until it is active or failed
   * or the client goes away. A connection deleted meanwhile ends the stream with NOT_FOUND, so a
   * caller can tell it from one that settled.
   */
  async *watch(
    ctx: RequestContext,
    id: string,
    scope: ProductScope,
    signal?: AbortSignal,
    options: { stages?: boolean | undefined; next?: boolean | undefined } = {},
  ): AsyncGenerator<WatchEvent> {
    const storeScope = { organizationId: ctx.organizationId, ...scope };
    const pending: ConnectionEvent[] = [];
    let wake: (() => void) | undefined;
    // Subscribe before the first read, so no change between the two is missed.
    const unsubscribe = await this.deps.events.subscribe(id, (event) => {
      pending.push(event);
      wake?.();
    });
    try {
      const first = await this.deps.store.findById(storeScope, id);
      if (!first) throw new AppError('NOT_FOUND', `connection ${id} was not found`);
      let last = await this.deps.history.presentOne(first);
      yield { status: last.status, connection: last };
      // `next`: a settled connection is followed until its next result (test now from a client).
      const initialResult = first.verification?.checkedAt;
      const isDone = () =>
        SETTLED.has(last.status) && (!options.next || last.verification?.checkedAt !== initialResult);
      while (!isDone() && !signal?.aborted) {
        if (pending.length === 0) {
          // Pub/sub is the fast path; a slow poll covers a lost message (e.g. a Redis reconnect).
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', done);
              resolve();
            };
            const timer = setTimeout(done, 2_000);
            signal?.addEventListener('abort', done, { once: true });
            wake = done;
          });
          wake = undefined;
        }
        const event = pending.shift();
        if (event?.deleted) throw deleted(id);
        if (event?.stage) {
          // Progress of the running verification: only for watchers that asked for it.
          if (options.stages) yield { status: last.status, connection: last, stage: event.stage };
          continue;
        }
        if (event) {
          if (event.status === last.status && event.verification?.checkedAt === last.verification?.checkedAt)
            continue;
          last = {
            ...last,
            status: event.status,
            ...(event.verification ? { verification: event.verification } : {}),
          };
          if (SETTLED.has(event.status)) {
            const settled = await this.deps.store.findById(storeScope, id);
            if (settled && settled.status === event.status)
              last = await this.deps.history.presentOne(settled);
          }
          yield { status: last.status, connection: last };
          continue;
        }
        const now = await this.deps.store.findById(storeScope, id);
        if (!now) throw deleted(id);
        if (now.status !== last.status || now.verification?.checkedAt !== last.verification?.checkedAt) {
          last = await this.deps.history.presentOne(now);
          yield { status: last.status, connection: last };
        }
      }
    } finally {
      await unsubscribe();
    }
  }

  /**
   * Checks, counts and seals settings to try into a short-lived Redis key (never in job data), bound
   * to this organization and a new request id, which it returns.
   */
  private async stashSettings(
    ctx: RequestContext,
    input: TestSettingsInput,
    scope: ProductScope,
  ): Promise<string> {
    const settings = await this.settingsFor(ctx, input, scope);
    await assertDialTargetAllowed(this.deps.egress, ctx, settings);
    await this.limit(ctx, input.id);
    const requestId = randomUUID();
    const sealed = seal(this.deps.keyring, JSON.stringify(settings), {
      organizationId: ctx.organizationId,
      connectionId: requestId,
    });
    await this.redisCall(() =>
      this.deps.redis.set(
        testSettingsKey(this.deps.prefix, requestId),
        sealed,
        'EX',
        this.deps.settingsTtlSeconds,
      ),
    );
    return requestId;
  }

  /** The worker deletes the settings when it reads them; this covers a job that never ran. */
  private async deleteSettings(requestId: string): Promise<void> {
    await this.deps.redis.del(testSettingsKey(this.deps.prefix, requestId)).catch(() => undefined);
  }

  /**
   * Takes a started trial for its watcher: only the caller who started it, and only once (two
   * watches of one trial would run it twice). Anything else is NOT_FOUND, saying nothing of whose
   * it is.
   */
  private async claimTrial(ctx: RequestContext, trialId: string): Promise<void> {
    const key = trialOwnerKey(this.deps.prefix, trialId);
    const owner = await this.redisCall(() => this.deps.redis.get(key));
    const claimed = owner === callerKey(ctx) && (await this.redisCall(() => this.deps.redis.del(key))) === 1;
    if (!claimed)
      throw new AppError(
        'NOT_FOUND',
        `trial ${trialId} was not found: it expired, was already watched, or was started by someone else`,
      );
  }

  private async redisCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      throw new AppError('UNAVAILABLE', 'Redis is unavailable', { retryAfter: RETRY_AFTER_SECONDS, cause });
    }
  }

  private async limit(ctx: RequestContext, connectionId: string | undefined): Promise<void> {
    await this.deps.limiter.consume('test', [
      ...(connectionId ? [{ key: `connection:${connectionId}`, max: this.deps.limits.perConnection }] : []),
      { key: callerKey(ctx), max: this.deps.limits.perCaller },
      { key: `organization:${ctx.organizationId}`, max: this.deps.limits.perOrganization },
    ]);
  }

  /** The settings to try: the body alone, or a stored connection with the body's changes on top. */
  private async settingsFor(
    ctx: RequestContext,
    input: TestSettingsInput,
    scope: ProductScope,
  ): Promise<DialSettings> {
    if (!input.id) {
      return {
        type: input.type as DialSettings['type'],
        host: input.host as string,
        port: input.port as number,
        databaseName: input.databaseName as string,
        userName: input.userName as string,
        password: input.password as string,
        ...(input.schema ? { schema: input.schema } : {}),
        ...(input.ssl ? { ssl: input.ssl } : {}),
        metadata: input.metadata ?? {},
      };
    }
    const record = await this.deps.store.findById({ organizationId: ctx.organizationId, ...scope }, input.id);
    if (!record) throw new AppError('NOT_FOUND', `connection ${input.id} was not found`);
    const { secrets, sslMode } = secretsAfterChange(this.deps.keyring, record, input) ?? {
      secrets: storedSecretsFor(this.deps.keyring, record, input),
      sslMode: record.sslMode,
    };
    const schema = input.schema === undefined ? record.schema : (input.schema ?? undefined);
    return {
      type: input.type ?? record.type,
      host: input.host ?? record.host,
      port: input.port ?? record.port,
      databaseName: input.databaseName ?? record.databaseName,
      userName: input.userName ?? record.userName,
      password: secrets.password,
      ...(schema ? { schema } : {}),
      ...(sslMode ? { ssl: { mode: sslMode, ca: secrets.ca, cert: secrets.cert, key: secrets.key } } : {}),
      metadata: input.metadata ?? record.metadata,
    };
  }
}

/** The answer of a test: the verification, with a one-line message. */
export function toTestResult(v: Verification): TestResult {
  return {
    status: v.outcome === 'passed' ? 'success' : 'failure',
    message:
      v.outcome === 'passed'
        ? 'All checks passed: the connection works.'
        : (v.error?.message ?? 'The verification failed.'),
    latencyMs: v.latencyMs,
    checkedAt: v.checkedAt,
    stages: v.stages,
    ...(v.error ? { error: v.error } : {}),
    ...(v.warnings ? { warnings: v.warnings } : {}),
    ...(v.server ? { server: v.server } : {}),
  };
}

const deleted = (id: string) => new AppError('NOT_FOUND', `connection ${id} was deleted`);

/**
 * A trial's failure as the watcher is told it, by the tRPC door's rule: an AppError's code and
 * message, except that an INTERNAL one (or anything else) is logged and said only by its title.
 */
function trialError(ctx: RequestContext, trialId: string, error: unknown): TrialError {
  if (error instanceof AppError && error.code !== 'INTERNAL') {
    ctx.log.warn({ trialId, code: error.code }, 'live trial ended without a result');
    return {
      code: error.code,
      message: error.message,
      ...(error.retryAfter !== undefined && { retryAfter: error.retryAfter }),
    };
  }
  ctx.log.error(
    { trialId, err: error instanceof AppError ? (error.cause ?? error) : error },
    'live trial failed',
  );
  return { code: 'INTERNAL', message: ERROR_CATALOGUE.INTERNAL.title };
}
