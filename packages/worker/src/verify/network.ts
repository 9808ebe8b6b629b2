import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import type { Logger, VerificationCode } from '@dbconn/shared';
import type { EgressPolicy } from '../egress/policy.js';
import type { HostLookup } from '../engines/types.js';
import { fail } from '../failures/stage-failure.js';

/** getaddrinfo / c-ares codes → dns stage codes. */
export const DNS_ERROR_CODES: Record<string, VerificationCode> = {
  ENOTFOUND: 'DNS_NOT_FOUND',
  ENODATA: 'DNS_NOT_FOUND',
  EAI_NONAME: 'DNS_NOT_FOUND',
  EAI_NODATA: 'DNS_NOT_FOUND',
  EAI_AGAIN: 'DNS_TEMPORARY',
  ETIMEOUT: 'DNS_TEMPORARY',
  ESERVFAIL: 'DNS_TEMPORARY',
  ECONNREFUSED: 'DNS_TEMPORARY',
  EAI_FAIL: 'DNS_TEMPORARY',
};

/** connect(2) errors → tcp stage codes. */
export const TCP_ERROR_CODES: Record<string, VerificationCode> = {
  ECONNREFUSED: 'TCP_REFUSED',
  ETIMEDOUT: 'TCP_TIMEOUT',
  EHOSTUNREACH: 'TCP_UNREACHABLE',
  ENETUNREACH: 'TCP_UNREACHABLE',
  EHOSTDOWN: 'TCP_UNREACHABLE',
  ENETDOWN: 'TCP_UNREACHABLE',
  EADDRNOTAVAIL: 'TCP_UNREACHABLE',
  ECONNRESET: 'TCP_RESET',
  EPIPE: 'TCP_RESET',
};

const codeOf = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
};

/** Every address of a name, in the resolver's order; errors carry getaddrinfo's `code`. */
async function lookupAll(host: string): Promise<string[]> {
  // verbatim: keep the resolver's order (no IPv4-first reshuffle); every address is checked anyway
  // and the tcp stage interleaves the families itself.
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((entry) => entry.address);
}

/**
 * The dns stage: resolves the host once (a literal is used as is) and checks the name and every
 * address against the egress policy. What it returns is all the verification may dial.
 */
export async function resolveAllowed(
  host: string,
  policy: EgressPolicy,
  log?: Logger,
  lookupHost: HostLookup = lookupAll,
): Promise<string[]> {
  const refuse = (rule: string, address?: string) => {
    log?.info({ host, address, rule }, 'egress policy refused a host');
    return fail('HOST_FORBIDDEN');
  };
  const byName = isIP(host) === 0 ? policy.checkName(host) : undefined;
  if (byName && !byName.allowed) throw refuse(byName.rule);

  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await lookupHost(host);
    } catch (error) {
      throw fail(DNS_ERROR_CODES[codeOf(error)] ?? 'DNS_TEMPORARY', error);
    }
    if (addresses.length === 0) throw fail('DNS_NOT_FOUND');
  }
  for (const address of addresses) {
    const decision = policy.checkAddress(host, address);
    if (!decision.allowed) throw refuse(decision.rule, address);
  }
  return addresses;
}

/**
 * Connection Attempt Delay of RFC 8305 §5: how long one attempt runs alone before the next address
 * is tried in parallel. 250 ms is the RFC's recommended value.
 */
export const CONNECTION_ATTEMPT_DELAY_MS = 250;

/**
 * The order of RFC 8305 §4: the family of the resolver's first answer first, then the two families
 * alternating, each family keeping the resolver's order. A dead family then costs one stagger, not
 * one timeout per address.
 */
export function interleaveFamilies(addresses: readonly string[]): string[] {
  const first = addresses[0];
  if (first === undefined) return [];
  const preferred = addresses.filter((a) => isIP(a) === isIP(first));
  const other = addresses.filter((a) => isIP(a) !== isIP(first));
  const ordered: string[] = [];
  for (let i = 0; i < Math.max(preferred.length, other.length); i++) {
    const p = preferred[i];
    const o = other[i];
    if (p !== undefined) ordered.push(p);
    if (o !== undefined) ordered.push(o);
  }
  return ordered;
}

/** One connect(2) to an IP literal; `started` gets the socket at once so the race can destroy losers. */
function connectOnce(address: string, port: number, started: (socket: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // An IP literal: net.connect does no lookup of its own.
    const socket = connect({ host: address, port, noDelay: true });
    started(socket);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      // From here an 'error' without a listener would crash the worker; whoever owns the socket
      // next adds its own, this one keeps it safe in between.
      socket.on('error', () => {});
      resolve(socket);
    });
    const onError = (error: unknown) => {
      socket.destroy();
      reject(fail(TCP_ERROR_CODES[codeOf(error)] ?? 'TCP_FAILED', error));
    };
    socket.once('error', onError);
  });
}

/**
 * The tcp stage, Happy Eyeballs (RFC 8305): the checked addresses share the stage budget
 * (`signal`). Addresses are tried in interleaved family order; the next attempt starts
 * CONNECTION_ATTEMPT_DELAY_MS after the previous one, or at once when an attempt fails. The first
 * socket to connect wins and every other attempt is destroyed, so a silent first address costs one
 * stagger instead of the whole budget. When every attempt fails, the failure of the earliest
 * address in that order is reported (the same one whatever the timing).
 */
export function openSocket(
  addresses: string[],
  port: number,
  signal: AbortSignal,
): Promise<{ socket: Socket; address: string }> {
  const order = interleaveFamilies(addresses);
  return new Promise((resolve, reject) => {
    const sockets = new Set<Socket>();
    const failures = new Map<number, unknown>();
    let next = 0;
    let settled = false;
    let stagger: NodeJS.Timeout | undefined;

    const finish = () => {
      settled = true;
      clearTimeout(stagger);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      for (const socket of sockets) socket.destroy();
      reject(signal.reason ?? fail('TCP_TIMEOUT'));
    };
    const startNext = () => {
      clearTimeout(stagger);
      if (settled) return;
      const index = next++;
      const address = order[index];
      if (address === undefined) {
        if (failures.size === order.length) {
          finish();
          const earliest = [...failures.keys()].sort((a, b) => a - b)[0] ?? 0;
          reject(failures.get(earliest) ?? fail('TCP_FAILED'));
        }
        return;
      }
      let socket: Socket | undefined;
      connectOnce(address, port, (s) => {
        socket = s;
        sockets.add(s);
      }).then(
        (connected) => {
          sockets.delete(connected);
          if (settled) {
            connected.destroy();
            return;
          }
          finish();
          for (const loser of sockets) loser.destroy();
          resolve({ socket: connected, address });
        },
        (error: unknown) => {
          if (socket) sockets.delete(socket);
          failures.set(index, error);
          // A failed attempt hands its turn on at once (RFC 8305 §5); past the last address this
          // settles the race once every attempt has failed.
          startNext();
        },
      );
      if (next < order.length) stagger = setTimeout(startNext, CONNECTION_ATTEMPT_DELAY_MS);
    };

    if (order.length === 0) {
      reject(fail('TCP_FAILED'));
      return;
    }
    if (signal.aborted) {
      reject(signal.reason ?? fail('TCP_TIMEOUT'));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    startNext();
  });
}
