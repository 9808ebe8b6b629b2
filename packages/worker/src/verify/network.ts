import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import type { Logger, VerificationCode } from '@dbconn/shared';
import type { EgressPolicy } from '../egress/policy.js';
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

/**
 * The dns stage: resolves the host once (a literal is used as is) and checks the name and every
 * address against the egress policy. What it returns is all the verification may dial.
 */
export async function resolveAllowed(host: string, policy: EgressPolicy, log?: Logger): Promise<string[]> {
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
      // verbatim: keep the resolver's order (no IPv4-first reshuffle); every address is checked anyway.
      const found = await lookup(host, { all: true, verbatim: true });
      addresses = found.map((entry) => entry.address);
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

function connectOnce(address: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // An IP literal: net.connect does no lookup of its own.
    const socket = connect({ host: address, port, noDelay: true });
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      // From here an 'error' without a listener would crash the worker; whoever owns the socket
      // next adds its own, this one keeps it safe in between.
      socket.on('error', () => {});
      resolve(socket);
    });
    const onError = (error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(fail(TCP_ERROR_CODES[codeOf(error)] ?? 'TCP_FAILED', error));
    };
    socket.once('error', onError);
  });
}

/**
 * The tcp stage: connects to the checked addresses in order until one accepts (a name with an
 * IPv6 and an IPv4 address where only one is served still connects). Reports the last failure.
 */
export async function openSocket(
  addresses: string[],
  port: number,
  signal: AbortSignal,
): Promise<{ socket: Socket; address: string }> {
  let lastError: unknown = fail('TCP_FAILED');
  for (const address of addresses) {
    if (signal.aborted) break;
    try {
      return { socket: await connectOnce(address, port, signal), address };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
