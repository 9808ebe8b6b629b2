import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  makeCa,
  type SocketFixture,
  startHangUpServer,
  startTlsListener,
} from './fixtures/index.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * Under ssl.mode disable, a port that accepts only TLS (an Oracle TCPS-only listener, a MongoDB
 * with requireTLS) hangs up on the driver's plain first message: TLS_REQUIRED when a TLS handshake
 * with the same address and port succeeds, and the hang-up as it was when it does not. Real
 * node:tls listeners and a plain server that hangs up on the first byte.
 */

let ca: CertificateAuthority;
let tlsOnly: SocketFixture;
let hangUp: SocketFixture;

beforeAll(async () => {
  ca = await makeCa('TLS-only listener CA');
  const pem = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
  [tlsOnly, hangUp] = await Promise.all([
    startTlsListener({ cert: pem.cert, key: pem.key }),
    startHangUpServer(),
  ]);
});
afterAll(async () => {
  await Promise.all([tlsOnly?.stop(), hangUp?.stop()]);
  await ca?.remove();
});

describe.each(['ORACLE', 'MONGODB'] as const)('%s under ssl.mode disable', (type) => {
  it('reports TLS_REQUIRED for a port that speaks only TLS, with a hint naming ssl.mode', async () => {
    const result = await verifyConnection(
      dialSettings({ type, port: tlsOnly.port, ssl: { mode: 'disable' } }),
      // The listener hangs up at once; the default deadlines leave room for the TLS probe on a busy
      // machine (500 ms did not, at a load average of 20).
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
    expect(result.error?.message).toContain('ssl.mode is disable');
    expect(result.error?.hint).toMatch(/ssl\.mode to verify-full/);
  });

  it('keeps CONNECTION_LOST for a plain port that hangs up', async () => {
    const result = await verifyConnection(
      dialSettings({ type, port: hangUp.port, ssl: { mode: 'disable' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:CONNECTION_LOST' });
  });
});
