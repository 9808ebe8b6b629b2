import { isIP } from 'node:net';
import {
  checkServerIdentity,
  type ConnectionOptions as NodeTlsOptions,
  type PeerCertificate,
} from 'node:tls';
import type { ConnectionType, SslMode } from '@dbconn/shared';
import type { DialSettings } from './types.js';

/**
 * The one place that says what each `ssl.mode` means (docs/contract.md §5, libpq's vocabulary) and how each
 * engine's driver is told. Engine-native aliases (`skip-verify`, `strict`, `insecure`, `true`...)
 * are normalised to these five modes when the connection is validated (SslModeSchema).
 */

export type TlsUse = 'never' | 'if-offered' | 'always';

/** libpq's meaning of each mode. `require` verifies the chain only when a CA is given, like libpq. */
export const SSL_MODE_MEANING = {
  disable: { use: 'never', verifyChain: 'never', verifyHostname: false },
  prefer: { use: 'if-offered', verifyChain: 'never', verifyHostname: false },
  require: { use: 'always', verifyChain: 'when-ca-given', verifyHostname: false },
  'verify-ca': { use: 'always', verifyChain: 'always', verifyHostname: false },
  'verify-full': { use: 'always', verifyChain: 'always', verifyHostname: true },
} as const satisfies Record<
  SslMode,
  { use: TlsUse; verifyChain: 'never' | 'when-ca-given' | 'always'; verifyHostname: boolean }
>;

/**
 * How TLS starts on each engine's wire, and what its driver cannot switch off.
 * - `in-band`: the client asks on the open connection (PostgreSQL SSLRequest, MySQL capability
 *   flag, SQL Server PRELOGIN) and the server says whether it has TLS, so `prefer` is exact.
 * - `listener`: the port is TLS or not (Oracle TCPS, MongoDB); the adapter finds out by trying
 *   a handshake on the tcp stage's socket.
 */
export const ENGINE_TLS = {
  POSTGRESQL: { negotiation: 'in-band', chainAlwaysVerified: false },
  MYSQL: { negotiation: 'in-band', chainAlwaysVerified: false },
  SQL_SERVER: { negotiation: 'in-band', chainAlwaysVerified: false },
  // node-oracledb thin mode always verifies the server chain (rejectUnauthorized is hard-wired),
  // so `prefer` and `require` behave as verify-ca there: a private CA must be given in ssl.ca.
  ORACLE: { negotiation: 'listener', chainAlwaysVerified: true },
  MONGODB: { negotiation: 'listener', chainAlwaysVerified: false },
} as const satisfies Record<
  ConnectionType,
  { negotiation: 'in-band' | 'listener'; chainAlwaysVerified: boolean }
>;

/** The TLS decision for one verification: the mode's meaning applied to this engine and material. */
export interface TlsPolicy {
  mode: SslMode;
  use: TlsUse;
  verifyChain: boolean;
  verifyHostname: boolean;
  /** The host as the user gave it: SNI and the certificate name check use it, never the dialled address. */
  host: string;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export function tlsPolicyFor(settings: Pick<DialSettings, 'type' | 'host' | 'ssl'>): TlsPolicy {
  const mode = settings.ssl?.mode ?? 'disable';
  const meaning = SSL_MODE_MEANING[mode];
  const hasCa = settings.ssl?.ca !== undefined;
  const verifyChain =
    meaning.use !== 'never' &&
    (meaning.verifyChain === 'always' ||
      (meaning.verifyChain === 'when-ca-given' && hasCa) ||
      ENGINE_TLS[settings.type].chainAlwaysVerified);
  return {
    mode,
    use: meaning.use,
    verifyChain,
    verifyHostname: meaning.verifyHostname,
    host: settings.host.endsWith('.') ? settings.host.slice(0, -1) : settings.host,
    ca: settings.ssl?.ca,
    cert: settings.ssl?.cert,
    key: settings.ssl?.key,
  };
}

/** SNI must not be an IP address (RFC 6066 §3). */
export const serverNameFor = (host: string): string | undefined => (isIP(host) === 0 ? host : undefined);

/**
 * Node `tls.connect` options for a handshake the adapter runs itself (PostgreSQL after SSLRequest,
 * the listener probe of Oracle and MongoDB). The name check uses the original host even though the
 * socket is connected to an address.
 */
export function nodeTlsOptions(policy: TlsPolicy): NodeTlsOptions {
  const servername = serverNameFor(policy.host);
  return {
    ...(servername ? { servername } : {}),
    ...(policy.ca ? { ca: policy.ca } : {}),
    ...(policy.cert ? { cert: policy.cert } : {}),
    ...(policy.key ? { key: policy.key } : {}),
    rejectUnauthorized: policy.verifyChain,
    checkServerIdentity: policy.verifyHostname
      ? (_name: string, cert: PeerCertificate) => checkServerIdentity(policy.host, cert)
      : () => undefined,
  };
}

/** mysql2 `ssl`; undefined = no TLS. mysql2 checks the name against its `host`, which the adapter sets to the original host. */
export interface MysqlSslOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  verifyIdentity: boolean;
}

export function mysqlSslOptions(policy: TlsPolicy): MysqlSslOptions | undefined {
  if (policy.use === 'never') return undefined;
  return {
    ...(policy.ca ? { ca: policy.ca } : {}),
    ...(policy.cert ? { cert: policy.cert } : {}),
    ...(policy.key ? { key: policy.key } : {}),
    rejectUnauthorized: policy.verifyChain,
    verifyIdentity: policy.verifyHostname,
  };
}

/** tedious `options` about TLS. */
export interface SqlServerTlsOptions {
  encrypt: boolean;
  trustServerCertificate: boolean;
  serverName?: string;
  cryptoCredentialsDetails: { ca?: string; cert?: string; key?: string };
}

export function sqlServerTlsOptions(policy: TlsPolicy): SqlServerTlsOptions {
  const serverName = serverNameFor(policy.host);
  return {
    encrypt: policy.use !== 'never',
    // tedious verifies chain and name together or not at all. Only verify-full lets it verify;
    // verify-ca (and require with a CA) is enforced by the adapter when tedious emits 'secure',
    // before the login packet is written.
    trustServerCertificate: !(policy.verifyChain && policy.verifyHostname),
    ...(serverName ? { serverName } : {}),
    cryptoCredentialsDetails: {
      ...(policy.ca ? { ca: policy.ca } : {}),
      ...(policy.cert ? { cert: policy.cert } : {}),
      ...(policy.key ? { key: policy.key } : {}),
    },
  };
}

/** node-oracledb thin connect options about TLS. */
export interface OracleTlsOptions {
  protocol: 'TCP' | 'TCPS';
  sslServerDNMatch: boolean;
  sslServerCertDN?: string;
  walletContent?: string;
}

/**
 * `useTls` is the listener probe's answer. `certSubjectDn` is the subject the probe saw after
 * checking the certificate against the original host name: the driver dials the address, so it
 * cannot check the name itself, and is told to accept only that subject instead.
 */
export function oracleTlsOptions(
  policy: TlsPolicy,
  probe: { useTls: boolean; certSubjectDn?: string | undefined },
): OracleTlsOptions {
  if (!probe.useTls) return { protocol: 'TCP', sslServerDNMatch: false };
  // The thin driver loads one PEM "wallet" as certificate chain, key and trusted CAs at once: the
  // client certificate must come first (the first certificate is taken as the client's own).
  const wallet = [policy.cert, policy.key, policy.ca].filter((pem): pem is string => pem !== undefined);
  return {
    protocol: 'TCPS',
    sslServerDNMatch: policy.verifyHostname && probe.certSubjectDn !== undefined,
    ...(policy.verifyHostname && probe.certSubjectDn ? { sslServerCertDN: probe.certSubjectDn } : {}),
    ...(wallet.length > 0 ? { walletContent: wallet.join('\n') } : {}),
  };
}

/** MongoDB driver TLS options (Node TLS options pass straight through the driver). */
export interface MongoTlsOptions {
  tls: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
  checkServerIdentity?: NodeTlsOptions['checkServerIdentity'];
}

export function mongoTlsOptions(policy: TlsPolicy, probe: { useTls: boolean }): MongoTlsOptions {
  if (!probe.useTls) return { tls: false };
  return { tls: true, ...nodeTlsOptions(policy) } as MongoTlsOptions;
}
