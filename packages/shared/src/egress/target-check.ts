import type { FieldError } from '../errors.js';
import { formatAddress, literalAddress } from './address.js';
import type { EgressPolicy } from './policy.js';
import type { SelfTargets } from './self-targets.js';

/** What a connection dials: the host, its port, and the database (the store's own is refused). */
export interface DialTarget {
  host: string;
  port: number;
  databaseName: string;
}

/** The egress policy and the service's own endpoints, as the API and the worker judge targets. */
export interface EgressGuard {
  policy: EgressPolicy;
  selfTargets: SelfTargets;
}

export const SELF_TARGET_MESSAGE =
  "is one of this service's own endpoints (its store database, its Redis or its listening ports), which are never dialled";

/**
 * Judges a target at input (create, update, try before save): a host written as an IP address —
 * literal or one of the numeric forms a resolver turns into one — that the policy refuses, or that
 * is one of the service's own endpoints, is a bad `host`. Names are judged at dial time, after
 * resolution (the worker's dns stage).
 */
export async function literalTargetErrors(
  guard: EgressGuard,
  target: DialTarget,
  organizationId: string,
): Promise<FieldError[]> {
  const ip = literalAddress(target.host);
  if (!ip) return [];
  const address = formatAddress(ip);
  if (await guard.selfTargets.match(address, target.port, target.databaseName)) {
    return [
      { field: 'host', message: `host ${target.host} with port ${target.port} ${SELF_TARGET_MESSAGE}` },
    ];
  }
  if (!guard.policy.checkAddress(target.host, address, organizationId).allowed) {
    return [
      { field: 'host', message: `host ${target.host} is not allowed by this service's network policy` },
    ];
  }
  return [];
}
