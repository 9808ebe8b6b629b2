import {
  STAGE_NAMES,
  STAGE_TIMEOUT_CODES,
  type StageName,
  type StageResult,
  type VerificationCode,
} from '@dbconn/shared';
import type { Stages } from '../engines/types.js';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { recordStageSpan } from './stage-span.js';

/** Where a verification stopped, for the result's `error`. */
export interface RecordedFailure {
  stage: StageName;
  failure: StageFailure;
  /** The budget of the stage (for timeout messages). */
  budgetMs: number;
}

const order = (stage: StageName) => STAGE_NAMES.indexOf(stage);
const elapsedSince = (start: number) => Math.max(0, Math.round(performance.now() - start));
/** A classified failure as is; anything else is a bug, kept as the cause of UNEXPECTED_ERROR. */
const asFailure = (error: unknown) =>
  error instanceof StageFailure ? error : fail('UNEXPECTED_ERROR', error);

/**
 * Runs the stages of one verification in order, each under its deadline (the stage timeout, cut
 * to what is left of the whole verification), and records what happened to each.
 *
 * A stage function gets an AbortSignal that fires when its deadline passes (or the verification is
 * aborted); the runner does not wait for the function after that. Resources the function opened
 * must be registered with the verification's cleanup, which runs whatever the outcome.
 */
export class StageRunner implements Stages {
  private readonly results = new Map<StageName, StageResult>();
  /** Each stage result as it is recorded, reported at once to `onStage` (live progress). */
  private readonly recorder = {
    set: (stage: StageName, result: StageResult) => {
      this.results.set(stage, result);
      recordStageSpan(this.limits.engine, result);
      try {
        this.limits.onStage?.(result);
      } catch {
        // Progress is best effort: it never changes the verification.
      }
    },
  };
  private failed: RecordedFailure | undefined;
  private readonly endsAt: number;

  constructor(
    private readonly limits: {
      timeoutMs: number;
      stageTimeoutMs: number;
      signal?: AbortSignal | undefined;
      /** The engine dialled (CONNECTION_TYPES), an attribute of each stage's span. */
      engine?: string | undefined;
      /** Told of each stage as it finishes (ok, skipped or failed), in order. */
      onStage?: ((result: StageResult) => void) | undefined;
    },
    startedAt: number = performance.now(),
  ) {
    this.endsAt = startedAt + limits.timeoutMs;
  }

  get failure(): RecordedFailure | undefined {
    return this.failed;
  }

  /**
   * Runs `stage`; returns its value, or throws the StageFailure that ended the verification.
   * `skippedWhen` turns a result into a skipped stage with a code (TLS under `prefer` when the
   * server has none: nothing failed, but nothing was encrypted either).
   */
  async run<T>(
    stage: StageName,
    work: (signal: AbortSignal) => Promise<T>,
    options: { skippedWhen?: (value: T) => VerificationCode | undefined } = {},
  ): Promise<T> {
    this.assertNext(stage);
    const start = performance.now();
    const budgetMs = this.budgetFrom(start);
    try {
      const value = await this.underDeadline(work, budgetMs, STAGE_TIMEOUT_CODES[stage]);
      const skippedCode = options.skippedWhen?.(value);
      this.recorder.set(
        stage,
        skippedCode
          ? { name: stage, status: 'skipped', durationMs: elapsedSince(start), code: skippedCode }
          : { name: stage, status: 'ok', durationMs: elapsedSince(start) },
      );
      return value;
    } catch (error) {
      throw this.record(stage, asFailure(error), start, budgetMs);
    }
  }

  /**
   * Runs a step that follows `stage` on the same connection (schema discovery after the schema
   * stage), under the same deadlines, with its own timeout code. `stage` must have passed. The
   * step is not a stage: the list of stages stays as verified, and a failure of the step ends the
   * run *at* `stage` whatever stage its classification names (a permission error of a catalog
   * query is about the schema being read, not about the database it was first mapped to).
   */
  async runAfter<T>(
    stage: StageName,
    timeoutCode: VerificationCode,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.failed) throw new Error(`a step after ${stage} started after the verification failed`);
    if (this.results.get(stage)?.status !== 'ok')
      throw new Error(`a step after ${stage} needs ${stage} to pass`);
    const budgetMs = this.budgetFrom(performance.now());
    try {
      return await this.underDeadline(work, budgetMs, timeoutCode);
    } catch (error) {
      const failure = asFailure(error);
      this.failed = { stage, failure, budgetMs };
      throw failure;
    }
  }

  /** Records a stage that does not run (TLS under `disable`; TLS under `prefer` when the server has none). */
  skip(stage: StageName, code?: VerificationCode): void {
    this.assertNext(stage);
    this.recorder.set(stage, { name: stage, status: 'skipped', durationMs: 0, ...(code ? { code } : {}) });
  }

  /** Records an error raised between stages (a bug, not a dial failure) against the next stage. */
  recordUnexpected(error: unknown): void {
    if (this.failed) return;
    const last = Math.max(-1, ...[...this.results.keys()].map(order));
    const next = STAGE_NAMES[Math.min(last + 1, STAGE_NAMES.length - 1)] ?? 'dns';
    this.record(next, fail('UNEXPECTED_ERROR', error), performance.now(), 0);
  }

  /** Every stage in order; those that never ran are `skipped`. */
  stages(): StageResult[] {
    return STAGE_NAMES.map((name) => this.results.get(name) ?? { name, status: 'skipped', durationMs: 0 });
  }

  private record(running: StageName, failure: StageFailure, start: number, budgetMs: number): StageFailure {
    const target = failure.spec.stage;
    const durationMs = elapsedSince(start);
    if (target && order(target) > order(running)) {
      // One driver call covered several stages; the error says how far the server got.
      const priorOk = failure.spec.priorStages !== 'skipped';
      this.recorder.set(running, {
        name: running,
        status: priorOk ? 'ok' : 'skipped',
        durationMs: priorOk ? durationMs : 0,
      });
      for (const between of STAGE_NAMES.slice(order(running) + 1, order(target))) {
        this.recorder.set(between, { name: between, status: priorOk ? 'ok' : 'skipped', durationMs: 0 });
      }
      this.recorder.set(target, {
        name: target,
        status: 'failed',
        durationMs: priorOk ? 0 : durationMs,
        code: failure.code,
      });
      this.failed = { stage: target, failure, budgetMs };
    } else {
      this.recorder.set(running, { name: running, status: 'failed', durationMs, code: failure.code });
      this.failed = { stage: running, failure, budgetMs };
    }
    return failure;
  }

  /** The stage timeout, cut to what is left of the whole verification. */
  private budgetFrom(start: number): number {
    return Math.max(0, Math.min(this.limits.stageTimeoutMs, Math.floor(this.endsAt - start)));
  }

  /**
   * Races `work` against its deadline and the outer signal; throws a StageFailure. The runner does
   * not wait for the work after either fires; the signal given to it is aborted so it can stop.
   */
  private async underDeadline<T>(
    work: (signal: AbortSignal) => Promise<T>,
    budgetMs: number,
    timeoutCode: VerificationCode,
  ): Promise<T> {
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(fail('ABORTED'));

    const stopped = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    stopped.catch(() => {});
    if (this.limits.signal?.aborted) controller.abort(fail('ABORTED'));
    else this.limits.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = setTimeout(() => controller.abort(fail(timeoutCode)), budgetMs);

    try {
      // Aborted before it began (the worker is shutting down): do not start the work at all.
      if (controller.signal.aborted) throw controller.signal.reason;
      const pending = work(controller.signal);
      // The runner stops listening at the deadline; a late rejection must not become unhandled.
      pending.catch(() => {});
      return await Promise.race([pending, stopped]);
    } catch (error) {
      const failure = asFailure(error);
      if (!controller.signal.aborted) controller.abort(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      this.limits.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private assertNext(stage: StageName): void {
    if (this.failed) throw new Error(`stage ${stage} started after the verification failed`);
    const last = Math.max(-1, ...[...this.results.keys()].map(order));
    if (order(stage) <= last) throw new Error(`stage ${stage} is out of order`);
  }
}
