import { describe, expect, it } from 'vitest';
import { authenticatedPlugin, isWeakPasswordPlugin } from './mysql-auth-plugin.js';
import { parseMysqlGreeting } from './mysql-greeting.js';

/** The greeting of the MariaDB 10.11 on the development machines, as it came off the socket. */
const MARIADB_10_11_GREETING = Buffer.from(
  '640000000a352e352e352d31302e31312e31392d4d6172696144422d302b64656231327531000b0000006a304f7c43764d5a00fef72d0200ff81150000000000001d0000005d447c645e2d643060754d5f006d7973716c5f6e61746976655f70617373776f726400',
  'hex',
);

/**
 * A MySQL 8 greeting (HandshakeV10 as the MySQL protocol documentation lays it out), naming
 * `plugin`: no server of this kind runs here to capture one from.
 */
function mysql8Greeting(plugin: string): Buffer {
  const payload = Buffer.concat([
    Buffer.from([10]),
    Buffer.from('8.0.40\0'),
    Buffer.from([9, 0, 0, 0]), // connection id
    Buffer.alloc(8, 0x41), // scramble, first part
    Buffer.from([0]), // filler
    Buffer.from([0xff, 0xff]), // capabilities, lower: CLIENT_SSL and CLIENT_SECURE_CONNECTION among them
    Buffer.from([0xff, 0x02, 0x00]), // charset, status
    Buffer.from([0xff, 0xdf]), // capabilities, upper: CLIENT_PLUGIN_AUTH among them
    Buffer.from([21]), // scramble length
    Buffer.alloc(10), // reserved
    Buffer.concat([Buffer.alloc(12, 0x42), Buffer.from([0])]), // scramble, second part (13 bytes)
    Buffer.from(`${plugin}\0`),
  ]);
  return Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload]);
}

const advertisedBy = (packet: Buffer) => {
  const greeting = parseMysqlGreeting(packet);
  return greeting?.kind === 'handshake' ? greeting.authPlugin : undefined;
};

describe('the MySQL/MariaDB auth plugin that authenticated a login', () => {
  it('reads the plugin the greeting names', () => {
    expect(advertisedBy(MARIADB_10_11_GREETING)).toBe('mysql_native_password');
    expect(advertisedBy(mysql8Greeting('caching_sha2_password'))).toBe('caching_sha2_password');
    expect(advertisedBy(mysql8Greeting('sha256_password'))).toBe('sha256_password');
    // Without the trailing NUL (some servers end the packet with the name), and cut short.
    const unterminated = mysql8Greeting('caching_sha2_password');
    const withoutNul = Buffer.concat([
      Buffer.from([unterminated.length - 5, 0, 0, 0]),
      unterminated.subarray(4, -1),
    ]);
    expect(advertisedBy(withoutNul)).toBe('caching_sha2_password');
    expect(advertisedBy(MARIADB_10_11_GREETING.subarray(0, 60))).toBeUndefined();
  });

  it("is the greeting's mysql_native_password when no switch came: weak (MariaDB, MySQL 5.7)", () => {
    const advertised = advertisedBy(MARIADB_10_11_GREETING);
    for (const encrypted of [false, true]) {
      const plugin = authenticatedPlugin({ advertised, encrypted });
      expect(plugin).toBe('mysql_native_password');
      expect(isWeakPasswordPlugin(plugin)).toBe(true);
    }
  });

  it('is the plugin the switch named when the account has another one (MariaDB ed25519): not weak', () => {
    const advertised = advertisedBy(MARIADB_10_11_GREETING);
    const plugin = authenticatedPlugin({ advertised, switchedTo: 'client_ed25519', encrypted: false });
    expect(plugin).toBe('client_ed25519');
    expect(isWeakPasswordPlugin(plugin)).toBe(false);
  });

  it('on MySQL 8, is caching_sha2_password without a switch, and mysql_native_password when the server switched to it', () => {
    const advertised = advertisedBy(mysql8Greeting('caching_sha2_password'));
    expect(authenticatedPlugin({ advertised, encrypted: false })).toBe('caching_sha2_password');
    expect(isWeakPasswordPlugin('caching_sha2_password')).toBe(false);
    const legacy = authenticatedPlugin({ advertised, switchedTo: 'mysql_native_password', encrypted: true });
    expect(isWeakPasswordPlugin(legacy)).toBe(true);
  });

  it('for a server defaulting to sha256_password, the first answer is native without TLS, so no switch means native', () => {
    const advertised = advertisedBy(mysql8Greeting('sha256_password'));
    expect(authenticatedPlugin({ advertised, encrypted: false })).toBe('mysql_native_password');
    expect(authenticatedPlugin({ advertised, encrypted: true })).toBe('sha256_password');
    expect(authenticatedPlugin({ advertised, switchedTo: 'sha256_password', encrypted: false })).toBe(
      'sha256_password',
    );
  });

  it('falls back to the first answer mysql2 gives a plugin it does not know, or a server that names none', () => {
    expect(authenticatedPlugin({ advertised: 'client_ed25519', encrypted: true })).toBe(
      'mysql_native_password',
    );
    expect(authenticatedPlugin({ encrypted: false })).toBe('mysql_native_password');
    // This adapter registers its own mysql_clear_password, so mysql2 answers native and waits for the switch.
    expect(authenticatedPlugin({ advertised: 'mysql_clear_password', encrypted: true })).toBe(
      'mysql_native_password',
    );
  });
});
