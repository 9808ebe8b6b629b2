import { describe, expect, it } from 'vitest';
import { preloginEncryption, TDS_ENCRYPTION, tdsPacketLength } from './tds-prelogin.js';

/** A PRELOGIN response: VERSION and ENCRYPTION options, then the terminator and their data. */
function preloginResponse(encryption: number, type = 0x04): Buffer {
  const options = Buffer.from([
    0x00,
    0x00,
    0x0b,
    0x00,
    0x06, // VERSION at 11, length 6
    0x01,
    0x00,
    0x11,
    0x00,
    0x01, // ENCRYPTION at 17, length 1
    0xff,
  ]);
  const data = Buffer.from([16, 0, 0x10, 0x00, 0, 0, encryption]);
  const payload = Buffer.concat([options, data]);
  const header = Buffer.from([type, 0x01, 0, 8 + payload.length, 0, 0, 1, 0]);
  return Buffer.concat([header, payload]);
}

describe('TDS PRELOGIN response', () => {
  it('reads the packet length from the header', () => {
    expect(tdsPacketLength(Buffer.from([4, 1, 0]))).toBeUndefined();
    expect(tdsPacketLength(preloginResponse(1))).toBe(preloginResponse(1).length);
  });

  it.each([
    ['OFF', TDS_ENCRYPTION.OFF],
    ['ON', TDS_ENCRYPTION.ON],
    ['NOT_SUP', TDS_ENCRYPTION.NOT_SUP],
    ['REQ', TDS_ENCRYPTION.REQ],
  ])('reads ENCRYPTION = %s', (_name, value) => {
    expect(preloginEncryption(preloginResponse(value))).toBe(value);
  });

  it('ignores packets that are not a PRELOGIN response', () => {
    expect(preloginEncryption(preloginResponse(1, 0x12))).toBeUndefined();
    expect(preloginEncryption(Buffer.from([4, 1, 0, 9, 0, 0, 1, 0, 0xff]))).toBeUndefined();
    expect(preloginEncryption(Buffer.alloc(3))).toBeUndefined();
  });
});
