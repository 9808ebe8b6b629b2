import { lookup, Resolver, resolveSrv } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import {
  type EgressPolicy,
  formatAddress,
  type Logger,
  literalAddress,
  type SelfTargets,
  type VerificationCode,
} from '@dbconn/shared';
import type { HostLookup, SrvLookup } from '../engines/types.js';
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

/** c-ares answers meaning "no such name or no record of this type" (as opposed to a failing server). */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A lookup through the given DNS servers (DNS_SERVERS: `ip` or `ip:port`) instead of the system
 * resolver: A and AAAA records, asked at once, with no cache. /etc/hosts is not read.
 */
export function resolverLookup(servers: readonly string[]): HostLookup {
  return async (host) => {
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers([...servers]);
    const answers = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses = answers.flatMap((a) => (a.status === 'fulfilled' ? a.value : []));
    if (addresses.length > 0) return addresses;
    const errors = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason as unknown] : []));
    // A failing server outweighs "no record": the name may exist.
    throw (
      errors.find((e) => !NOT_FOUND_CODES.has(codeOf(e))) ??
      errors[0] ??
      Object.assign(new Error('no address'), { code: 'ENODATA' })
    );
  };
}

/** SRV records through the given DNS servers (DNS_SERVERS), as resolverLookup does for addresses. */
export function resolverSrv(servers: readonly string[]): SrvLookup {
  return async (name) => {
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers([...servers]);
    return resolver.resolveSrv(name);
  };
}

/** What the dns stage needs besides the host: who the dial is for, and where it goes. */
export interface ResolveOptions {
  log?: Logger | undefined;
  lookup?: HostLookup | undefined;
  organizationId?: string | undefined;
  /** The service's own endpoints, and the port and database of the dial (judged with each address). */
  self?: { targets: SelfTargets; port: number; database: string } | undefined;
}

/**
 * The dns stage: resolves the host once (a literal — or a numeric IPv4 spelling such as
 * `2130706433` — is used as the address it stands for) and checks the name and every address:
 * first against the service's own endpoints (SELF_TARGET_FORBIDDEN, whatever the policy says),
 * then against the egress policy (HOST_FORBIDDEN). What it returns is all the verification may dial.
 */
export async function resolveAllowed(
  host: string,
  policy: EgressPolicy,
  options: ResolveOptions = {},
): Promise<string[]> {
  const { log, organizationId, self } = options;
  const refuse = (rule: string, address?: string) => {
    log?.info({ host, address, rule }, 'egress policy refused a host');
    return fail(rule === 'self-target' ? 'SELF_TARGET_FORBIDDEN' : 'HOST_FORBIDDEN');
  };
  const literal = literalAddress(host);
  const byName = literal ? undefined : policy.checkName(host, organizationId);
  if (byName && !byName.allowed) throw refuse(byName.rule);

  let addresses: string[];
  if (literal) {
    addresses = [formatAddress(literal)];
  } else {
    try {
      addresses = await (options.lookup ?? lookupAll)(host);
    } catch (error) {
      throw fail(DNS_ERROR_CODES[codeOf(error)] ?? 'DNS_TEMPORARY', error);
    }
    if (addresses.length === 0) throw fail('DNS_NOT_FOUND');
  }
  for (const address of addresses) {
    if (self && (await self.targets.match(address, self.port, self.database)))
      throw refuse('self-target', address);
    const decision = policy.checkAddress(host, address, organizationId);
    if (!decision.allowed) throw refuse(decision.rule, address);
  }
  return addresses;
}

/** The parent domain of an SRV name: `cluster0.example.net` → `example.net` (MongoDB's SRV rule). */
const parentDomain = (name: string) => name.toLowerCase().replace(/\.$/, '').split('.').slice(1).join('.');

/**
 * The dns stage of a `mongodb+srv://` name (docs/contract.md §12): asks for `_mongodb._tcp.<name>`,
 * refuses a target outside the name's parent domain (the MongoDB drivers' rule: the records must
 * not send the dial elsewhere), and checks every target — its name and every address — under the
 * egress policy as resolveAllowed does for a host. The dial goes to the first target in priority
 * order (lowest priority, then highest weight); what it returns is all it may dial.
 */
export async function resolveSrvAllowed(
  name: string,
  policy: EgressPolicy,
  options: ResolveOptions & { srvLookup?: SrvLookup | undefined } = {},
): Promise<{ host: string; port: number; addresses: string[] }> {
  const { log, organizationId } = options;
  const byName = policy.checkName(name, organizationId);
  if (byName && !byName.allowed) {
    log?.info({ host: name, rule: byName.rule }, 'egress policy refused a host');
    throw fail('HOST_FORBIDDEN');
  }
  let records: { name: string; port: number; priority: number; weight: number }[];
  try {
    records = await (options.srvLookup ?? resolveSrv)(`_mongodb._tcp.${name}`);
  } catch (error) {
    throw fail(DNS_ERROR_CODES[codeOf(error)] ?? 'DNS_TEMPORARY', error);
  }
  if (records.length === 0) throw fail('DNS_NOT_FOUND');
  const domain = parentDomain(name);
  const ordered = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  const checked: { host: string; port: number; addresses: string[] }[] = [];
  for (const record of ordered) {
    const target = record.name.replace(/\.$/, '');
    if (domain === '' || !target.toLowerCase().endsWith(`.${domain}`)) {
      log?.info({ host: name, target, rule: 'srv-target-outside-domain' }, 'egress policy refused a host');
      throw fail('HOST_FORBIDDEN');
    }
    const self = options.self && { ...options.self, port: record.port };
    const addresses = await resolveAllowed(target, policy, { ...options, self });
    checked.push({ host: target, port: record.port, addresses });
  }
  return checked[0] as { host: string; port: number; addresses: string[] };
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
