import { AppError, RETRY_AFTER_SECONDS } from './errors.js';
import { withTimeout } from './timeout.js';

/** How long /ready waits for each dependency: a probe must answer even when a dependency hangs. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/** What /ready checks (docs/contract.md §9), named as the 503 body names them. */
export interface ReadinessProbes {
  store: { ping(): Promise<unknown> };
  redis: { ping(): Promise<unknown> };
}
export type ReadyDependency = keyof ReadinessProbes;

export interface NotReady {
  /** UNAVAILABLE naming what is down (`down`), with Retry-After: the body both /ready answer. */
  error: AppError;
  /** Each failure in its own words, for the log only: it may name hosts. */
  reasons: Partial<Record<ReadyDependency, string>>;
}

/**
 * The one readiness check of the API's and the worker's /ready: every dependency pinged at once,
 * each under `timeoutMs`. Undefined when all answered.
 */
export async function checkReadiness(
  probes: ReadinessProbes,
  timeoutMs: number = READY_CHECK_TIMEOUT_MS,
): Promise<NotReady | undefined> {
  const names = Object.keys(probes) as ReadyDependency[];
  const results = await Promise.allSettled(
    names.map((name) => withTimeout(probes[name].ping(), timeoutMs, name)),
  );
  const reasons: NotReady['reasons'] = {};
  names.forEach((name, i) => {
    const result = results[i];
    if (result?.status === 'rejected') reasons[name] = errorText(result.reason);
  });
  const down = Object.keys(reasons) as ReadyDependency[];
  if (down.length === 0) return undefined;
  const error = new AppError('UNAVAILABLE', `not ready: ${down.join(', ')} unreachable`, {
    retryAfter: RETRY_AFTER_SECONDS,
    extra: { down },
  });
  return { error, reasons };
}

function errorText(reason: unknown): string {
  if (reason instanceof Error) {
    const cause = reason.cause instanceof Error ? `: ${reason.cause.message}` : '';
    return `${reason.message}${cause}`;
  }
  return String(reason);
}
