/**
 * The server's answer to SQL Server's PRELOGIN (MS-TDS 2.2.6.5), read by the adapter only to learn
 * the ENCRYPTION option: tedious silently continues in clear text when the client asks for TLS and
 * the server does not support it, which `require` must refuse before the login packet is sent.
 */

const TDS_HEADER_LENGTH = 8;
const PRELOGIN_RESPONSE_TYPE = 0x04;
const ENCRYPTION_TOKEN = 0x01;
const TERMINATOR = 0xff;

export const TDS_ENCRYPTION = { OFF: 0, ON: 1, NOT_SUP: 2, REQ: 3 } as const;

/** Length of the first TDS packet once its header has arrived. */
export function tdsPacketLength(buffered: Buffer): number | undefined {
  return buffered.length >= TDS_HEADER_LENGTH ? buffered.readUInt16BE(2) : undefined;
}

/** The ENCRYPTION value of a PRELOGIN response packet; undefined when it is not one. */
export function preloginEncryption(packet: Buffer): number | undefined {
  if (packet.length < TDS_HEADER_LENGTH || packet[0] !== PRELOGIN_RESPONSE_TYPE) return undefined;
  const payload = packet.subarray(TDS_HEADER_LENGTH, packet.readUInt16BE(2));
  for (let at = 0; at + 5 <= payload.length && payload[at] !== TERMINATOR; at += 5) {
    if (payload[at] !== ENCRYPTION_TOKEN) continue;
    const offset = payload.readUInt16BE(at + 1);
    const length = payload.readUInt16BE(at + 3);
    return length >= 1 && offset < payload.length ? payload[offset] : undefined;
  }
  return undefined;
}
