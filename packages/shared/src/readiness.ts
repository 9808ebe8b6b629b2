import { AppError, RETRY_AFTER_SECONDS } from './errors.js';
import { withTimeout } from './timeout.js';

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
 *
 * Both processes pass STORE_TIMEOUT_MS, the deadline every store call already has: /ready then says
 * "not ready" exactly when a request's store call would fail too (a store slower than that answers
 * 503 everywhere; one slower than a fixed, shorter probe bound but within it still serves). The
 * bound keeps the probe answering when a dependency hangs (a frozen Redis is given no deadline of
 * its own): a probe's timeout should be above STORE_TIMEOUT_MS.
 */
export async function checkReadiness(
  probes: ReadinessProbes,
  timeoutMs: number,
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
