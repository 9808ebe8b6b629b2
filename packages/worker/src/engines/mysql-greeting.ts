/**
 * The first packet a MySQL/MariaDB server sends (Protocol::HandshakeV10, or an ERR packet when it
 * refuses the client before any login). Read by the adapter to know whether the server offers TLS
 * before mysql2 decides anything, so `prefer` needs no second connection and `require` fails
 * before a password could be sent in clear.
 */

/** CLIENT_SSL capability flag (lower 16 bits). */
const CLIENT_SSL = 0x0800;
/** CLIENT_SECURE_CONNECTION (lower 16 bits): the second part of the scramble follows the reserved bytes. */
const CLIENT_SECURE_CONNECTION = 0x8000;
/** CLIENT_PLUGIN_AUTH (upper 16 bits): the greeting ends with the server's default auth plugin. */
const CLIENT_PLUGIN_AUTH_HIGH = 0x0008;

export type MysqlGreeting =
  | {
      kind: 'handshake';
      protocolVersion: number;
      serverVersion: string;
      offersTls: boolean;
      /**
       * The auth plugin the server names in its greeting (its default, which the client may answer
       * with at once); absent from a server without CLIENT_PLUGIN_AUTH.
       */
      authPlugin?: string;
    }
  | { kind: 'error'; errno: number };

/** Length of the first packet (4-byte header + payload) once the header has arrived. */
export function mysqlPacketLength(buffered: Buffer): number | undefined {
  return buffered.length >= 4 ? 4 + buffered.readUIntLE(0, 3) : undefined;
}

/** Parses the greeting; undefined when the bytes are not a MySQL greeting at all. */
export function parseMysqlGreeting(packet: Buffer): MysqlGreeting | undefined {
  const payload = packet.subarray(4);
  const first = payload[0];
  if (first === 0xff && payload.length >= 3) return { kind: 'error', errno: payload.readUInt16LE(1) };
  if (first !== 10) return undefined;
  const versionEnd = payload.indexOf(0, 1);
  if (versionEnd < 0) return undefined;
  // version NUL, connection id (4), auth-plugin-data part 1 (8), filler (1), capabilities (2)
  const capabilitiesAt = versionEnd + 1 + 4 + 8 + 1;
  if (payload.length < capabilitiesAt + 2) return undefined;
  const capabilities = payload.readUInt16LE(capabilitiesAt);
  const authPlugin = readAuthPlugin(payload, capabilitiesAt, capabilities);
  return {
    kind: 'handshake',
    protocolVersion: first,
    serverVersion: payload.toString('utf8', 1, versionEnd),
    offersTls: (capabilities & CLIENT_SSL) !== 0,
    ...(authPlugin ? { authPlugin } : {}),
  };
}

/**
 * The plugin name at the end of HandshakeV10: after the capabilities come the character set (1),
 * status (2), upper capabilities (2), the scramble's length (1), 10 reserved bytes, the scramble's
 * second part (its length less 8, at least 13), then the name, NUL-terminated (some servers leave
 * the NUL out at the end of the packet).
 */
function readAuthPlugin(payload: Buffer, capabilitiesAt: number, capabilities: number): string | undefined {
  const upperAt = capabilitiesAt + 2 + 1 + 2;
  if (payload.length < upperAt + 2 + 1 + 10) return undefined;
  if ((payload.readUInt16LE(upperAt) & CLIENT_PLUGIN_AUTH_HIGH) === 0) return undefined;
  const scrambleLength = payload[upperAt + 2] ?? 0;
  const secondPart = capabilities & CLIENT_SECURE_CONNECTION ? Math.max(13, scrambleLength - 8) : 0;
  const nameAt = upperAt + 2 + 1 + 10 + secondPart;
  if (nameAt >= payload.length) return undefined;
  const end = payload.indexOf(0, nameAt);
  const name = payload.toString('latin1', nameAt, end < 0 ? payload.length : end);
  return /^[a-z0-9_]{1,64}$/i.test(name) ? name : undefined;
}
