import { lookup, resolveSrv } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { ConnectionString as MongoConnectionString } from 'mongodb-connection-string-url';
import { parse as parsePostgresUrl } from 'pg-connection-string';
import { cidrContains, formatAddress, parseAddress, parseCidr } from './address.js';
import type { EgressPolicy } from './policy.js';

/**
 * The service's own endpoints (docs/contract.md §8): its store database, its Redis, the API's and the
 * worker's listening ports. None of them is ever a verification or webhook target, whatever the
 * egress policy says — with trust authentication on loopback, a verification of the store would
 * be a way to read the service's own tables. Other databases on the store's server stay allowed.
 */
export type SelfRole = 'store' | 'redis' | 'api' | 'worker';

export interface SelfTarget {
  role: SelfRole;
  host: string;
  port: number;
  /** Only this database is refused on the store's server; undefined refuses the whole server. */
  database?: string;
  /** A `mongodb+srv://` name: the hosts and ports are its SRV records. */
  srv?: boolean;
}

/** Where the service's own endpoints are, as the configuration gives them. */
export interface SelfEndpoints {
  storeUrl: string;
  redisUrl: string;
  /** Redis Sentinels or Cluster nodes (REDIS_SENTINELS, REDIS_CLUSTER_NODES). */
  redisNodes?: { host: string; port: number }[];
  /** The listening sockets of this deployment (API, worker operations server). Port 0 = none. */
  listeners: { role: SelfRole; host: string; port: number }[];
}

const urlPort = (url: URL, fallback: number) => (url.port === '' ? fallback : Number(url.port));
/** Host of a URL without the brackets of an IPv6 literal. */
const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

function storeTargets(storeUrl: string): SelfTarget[] {
  if (/^postgres(ql)?:\/\//.test(storeUrl)) {
    const parsed = parsePostgresUrl(storeUrl);
    const database = parsed.database ?? parsed.user ?? undefined;
    return [
      {
        role: 'store',
        host: bare(parsed.host ?? 'localhost'),
        port: Number(parsed.port ?? 5432),
        ...(database ? { database } : {}),
      },
    ];
  }
  const parsed = new MongoConnectionString(storeUrl);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined;
  return parsed.hosts.map((hostPort) => {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
    return {
      role: 'store' as const,
      host: bare(match?.[1] ?? hostPort),
      port: Number(match?.[2] ?? 27017),
      ...(database ? { database } : {}),
      ...(parsed.isSRV ? { srv: true } : {}),
    };
  });
}

/** The targets of a configuration: the store (host, port and database), Redis, the listeners. */
export function selfTargetsOf(endpoints: SelfEndpoints): SelfTarget[] {
  const redis = new URL(endpoints.redisUrl);
  return [
    ...storeTargets(endpoints.storeUrl),
    { role: 'redis', host: bare(redis.hostname || 'localhost'), port: urlPort(redis, 6379) },
    ...(endpoints.redisNodes ?? []).map((node) => ({ role: 'redis' as const, ...node })),
    ...endpoints.listeners.filter((l) => l.port !== 0),
  ];
}

/** Loopback and unspecified: a socket to any of them reaches this machine. */
const LOCAL_NETWORKS = ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128'].flatMap((c) => {
  const cidr = parseCidr(c);
  return cidr ? [cidr] : [];
});

interface ResolvedTarget {
  role: SelfRole;
  port: number;
  database?: string;
  /** The addresses the target is reached at; `local` = every address of this machine. */
  addresses: Set<string> | 'local';
}

export type HostResolver = (host: string) => Promise<string[]>;

const lookupAll: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** How long resolved addresses of the service's own hosts are trusted before they are looked up again. */
const REFRESH_MS = 60_000;

/**
 * Tells whether a dial target is one of the service's own endpoints. Host names of the
 * configuration are resolved at first use and again after a minute (a store behind a name can move);
 * a target on this machine (loopback, unspecified, an interface address) matches any address of
 * this machine on its port.
 */
export class SelfTargets {
  private resolved: ResolvedTarget[] | undefined;
  private resolvedAt = 0;
  private refreshing: Promise<ResolvedTarget[]> | undefined;

  constructor(
    private readonly targets: readonly SelfTarget[],
    private readonly policy: Pick<EgressPolicy, 'effectiveAddress'>,
    private readonly resolve: HostResolver = lookupAll,
  ) {}

  /**
   * The role of the service's endpoint at `address:port` (and `database` for the store), or
   * undefined. `address` is an IP literal (mapped and NAT64 forms count as their IPv4 address).
   */
  async match(address: string, port: number, database: string): Promise<SelfRole | undefined> {
    const candidate = this.policy.effectiveAddress(address);
    if (candidate === undefined) return undefined;
    const local = isLocalAddress(candidate);
    for (const target of await this.current()) {
      if (target.port !== port) continue;
      if (target.database !== undefined && target.database.toLowerCase() !== database.toLowerCase()) continue;
      if (target.addresses === 'local' ? local : target.addresses.has(candidate)) return target.role;
    }
    return undefined;
  }

  private async current(): Promise<ResolvedTarget[]> {
    if (this.resolved && Date.now() - this.resolvedAt < REFRESH_MS) return this.resolved;
    this.refreshing ??= this.resolveAll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async resolveAll(): Promise<ResolvedTarget[]> {
    const previous = this.resolved;
    const expanded = (await Promise.all(this.targets.map((t) => expandSrv(t)))).flat();
    const resolved = await Promise.all(
      expanded.map(async (target, i): Promise<ResolvedTarget> => {
        const base = {
          role: target.role,
          port: target.port,
          ...(target.database !== undefined ? { database: target.database } : {}),
        };
        let addresses: string[];
        try {
          addresses = parseAddress(target.host) ? [target.host] : await this.resolve(target.host);
        } catch {
          // Unresolvable right now: keep what the last lookup found (the store is still there).
          return previous?.[i] ?? { ...base, addresses: new Set() };
        }
        const effective = addresses
          .map((a) => this.policy.effectiveAddress(a))
          .filter((a): a is string => a !== undefined);
        return {
          ...base,
          addresses: effective.some(isLocalAddress) ? 'local' : new Set(effective),
        };
      }),
    );
    this.resolved = resolved;
    this.resolvedAt = Date.now();
    return resolved;
  }
}

/** A `mongodb+srv://` host stands for its SRV records; unresolvable, it stands for itself. */
async function expandSrv(target: SelfTarget): Promise<SelfTarget[]> {
  if (!target.srv) return [target];
  try {
    const records = await resolveSrv(`_mongodb._tcp.${target.host}`);
    return records.map(({ name, port }) => ({ ...target, host: name, port, srv: false }));
  } catch {
    return [{ ...target, srv: false }];
  }
}

/** Loopback, unspecified, or an address of one of this machine's interfaces. */
function isLocalAddress(address: string): boolean {
  const ip = parseAddress(address);
  if (!ip) return false;
  if (LOCAL_NETWORKS.some((cidr) => cidrContains(cidr, ip))) return true;
  const text = formatAddress(ip);
  return Object.values(networkInterfaces()).some((entries) =>
    (entries ?? []).some((entry) => {
      const own = parseAddress(entry.address);
      return own !== undefined && formatAddress(own) === text;
    }),
  );
}
