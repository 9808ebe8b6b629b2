import { AppError, type DialTarget, type EgressGuard, literalTargetErrors } from '@dbconn/shared';
import type { RequestContext } from '../context.js';

/**
 * Refuses at once (400 naming `host`) a target whose host is an IP address the egress policy
 * refuses, or one of the service's own endpoints (docs/contract.md §8). Names are judged by the
 * worker at dial time, after resolution. Without a guard (tests of other things) nothing is judged.
 */
export async function assertDialTargetAllowed(
  guard: EgressGuard | undefined,
  ctx: RequestContext,
  target: DialTarget,
): Promise<void> {
  if (!guard) return;
  const errors = await literalTargetErrors(guard, target, ctx.organizationId);
  if (errors.length > 0) {
    ctx.log.info({ host: target.host, port: target.port }, 'egress policy refused a host at input');
    throw new AppError('VALIDATION_FAILED', `Invalid ${errors.map((e) => e.field).join(', ')}`, { errors });
  }
}
