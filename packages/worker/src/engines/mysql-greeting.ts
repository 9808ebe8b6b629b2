/**
 * The first packet a MySQL/MariaDB server sends (Protocol::HandshakeV10, or an ERR packet when it
 * refuses the client before any login). Read by the adapter to know whether the server offers TLS
 * before mysql2 decides anything, so `prefer` needs no second connection and `require` fails
 * before a password could be sent in clear.
 */

/** CLIENT_SSL capability flag (lower 16 bits). */
const CLIENT_SSL = 0x0800;

export type MysqlGreeting =
  | { kind: 'handshake'; protocolVersion: number; serverVersion: string; offersTls: boolean }
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
  return {
    kind: 'handshake',
    protocolVersion: first,
    serverVersion: payload.toString('utf8', 1, versionEnd),
    offersTls: (payload.readUInt16LE(capabilitiesAt) & CLIENT_SSL) !== 0,
  };
}
