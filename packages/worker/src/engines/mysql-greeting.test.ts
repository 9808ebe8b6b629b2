import { describe, expect, it } from 'vitest';
import { mysqlPacketLength, parseMysqlGreeting } from './mysql-greeting.js';

/** A HandshakeV10 packet as MariaDB sends it. */
function greeting(version: string, capabilitiesLow: number): Buffer {
  const payload = Buffer.concat([
    Buffer.from([10]),
    Buffer.from(`${version}\0`),
    Buffer.from([1, 0, 0, 0]), // connection id
    Buffer.alloc(8, 0x41), // auth-plugin-data part 1
    Buffer.from([0]), // filler
    Buffer.from([capabilitiesLow & 0xff, capabilitiesLow >> 8]),
    Buffer.from([33, 2, 0, 0xff, 0x81]), // charset, status, capabilities high
  ]);
  const header = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, 0]);
  return Buffer.concat([header, payload]);
}

describe('MySQL greeting', () => {
  it('reads the packet length from the header once it has arrived', () => {
    expect(mysqlPacketLength(Buffer.from([5, 0]))).toBeUndefined();
    expect(mysqlPacketLength(Buffer.from([5, 1, 0, 0]))).toBe(4 + 261);
  });

  it('sees whether the server offers TLS (CLIENT_SSL)', () => {
    expect(parseMysqlGreeting(greeting('10.11.6-MariaDB', 0xfffe))).toEqual({
      kind: 'handshake',
      protocolVersion: 10,
      serverVersion: '10.11.6-MariaDB',
      offersTls: true,
    });
    expect(parseMysqlGreeting(greeting('8.0.36', 0xf7fe))).toMatchObject({ offersTls: false });
  });

  it('reads the errno of a refusal before the handshake (ERR packet)', () => {
    const payload = Buffer.concat([
      Buffer.from([0xff, 0x6a, 0x04]),
      Buffer.from("Host '10.0.0.9' is not allowed"),
    ]);
    const packet = Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload]);
    expect(parseMysqlGreeting(packet)).toEqual({ kind: 'error', errno: 1130 });
  });

  it('rejects what is not a MySQL greeting', () => {
    expect(parseMysqlGreeting(Buffer.from([3, 0, 0, 0, 0x42, 0x43, 0x44]))).toBeUndefined();
    expect(parseMysqlGreeting(Buffer.from([4, 0, 0, 0, 10, 0x35, 0x2e, 0x35]))).toBeUndefined();
    expect(parseMysqlGreeting(greeting('8.0', 0).subarray(0, 12))).toBeUndefined();
  });
});
