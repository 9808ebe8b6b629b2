import { ConnectionString } from 'mongodb-connection-string-url';
import type { SslMode } from '../schemas/ssl.schema.js';
import {
  build,
  type ConnectionStringFields,
  decode,
  fail,
  isFalse,
  isTrue,
  param,
  port,
  sslMode,
} from './common.js';

// MongoDB: mongodb:// and mongodb+srv:// (kept as the SRV name; the worker resolves it).

/**
 * The metadata key that marks a MongoDB host as an SRV name (`mongodb+srv://`): the worker asks for
 * `_mongodb._tcp.<host>` and dials a member it finds, so the port field is not dialled.
 */
export const MONGODB_SRV_METADATA_KEY = 'srv';

function mongoSsl(params: URLSearchParams, isSrv: boolean): SslMode | undefined {
  const modeText = param(params, 'sslmode');
  if (modeText !== undefined) return sslMode(modeText, 'sslmode');
  const tls = param(params, 'tls', 'ssl');
  // The MongoDB drivers turn TLS on for +srv unless the string says tls=false.
  if (tls === undefined) return isSrv ? 'verify-full' : undefined;
  if (isFalse(tls)) return 'disable';
  if (!isTrue(tls)) return fail('connectionString tls must be true or false');
  const insecure = [param(params, 'tlsInsecure'), param(params, 'tlsAllowInvalidCertificates')].some(
    (v) => v !== undefined && isTrue(v),
  );
  if (insecure) return 'require';
  const anyHost = param(params, 'tlsAllowInvalidHostnames');
  return anyHost !== undefined && isTrue(anyHost) ? 'verify-ca' : 'verify-full';
}

export function mongo(text: string): ConnectionStringFields {
  let parsed: ConnectionString;
  try {
    parsed = new ConnectionString(text);
  } catch {
    return fail(
      'connectionString is not a valid mongodb:// or mongodb+srv:// URL (percent-encode @ : / in the password; +srv takes one name and no port)',
    );
  }
  if (parsed.hosts.length !== 1) {
    fail(
      'connectionString names several hosts: give one member of the replica set (this service verifies one host)',
    );
  }
  const hostPort = parsed.hosts[0] as string;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  const [host, portText] = bracketed
    ? [bracketed[1] as string, bracketed[2]]
    : [hostPort.split(':')[0] as string, hostPort.split(':')[1]];
  const params = parsed.searchParams as unknown as URLSearchParams;
  const authSource = param(params, 'authSource');
  const metadata: Record<string, string> = {
    ...(authSource ? { authSource } : {}),
    ...(parsed.isSRV ? { [MONGODB_SRV_METADATA_KEY]: 'true' } : {}),
  };
  return build('MONGODB', {
    host: decode(host, 'host'),
    port: port(portText, 'MONGODB'),
    databaseName: decode(parsed.pathname.replace(/^\//, ''), 'database'),
    userName: parsed.username ? decode(parsed.username, 'user') : undefined,
    password: parsed.password ? decode(parsed.password, 'password') : undefined,
    schema: param(params, 'schema'),
    ssl: mongoSsl(params, parsed.isSRV),
    metadata,
  });
}
