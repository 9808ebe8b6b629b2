import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * SQL Server's TLS starts inside PRELOGIN. No SQL Server runs here, so a scripted TDS peer answers
 * the client's PRELOGIN with a chosen ENCRYPTION value and records every packet type it receives
 * afterwards: a LOGIN7 (0x10) carries the password, and must never leave under `require` when the
 * server has no encryption.
 */

const PRELOGIN = 0x12;
const LOGIN7 = 0x10;

function preloginAnswer(encryption: number): Buffer {
  const options = Buffer.from([0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff]);
  const data = Buffer.from([16, 0, 0x10, 0x00, 0, 0, encryption]);
  const payload = Buffer.concat([options, data]);
  return Buffer.concat([Buffer.from([0x04, 0x01, 0, 8 + payload.length, 0, 0, 1, 0]), payload]);
}

let server: Server | undefined;
const peers = new Set<Socket>();

async function startTdsPeer(encryption: number) {
  const received: number[] = [];
  server = createServer((socket) => {
    peers.add(socket);
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    socket.on('data', (chunk) => {
      received.push(chunk[0] ?? -1);
      if (chunk[0] === PRELOGIN && received.length === 1) socket.write(preloginAnswer(encryption));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, received };
}

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  peers.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('SQL Server PRELOGIN encryption', () => {
  it('refuses a server without encryption under require before the login packet is written', async () => {
    const peer = await startTdsPeer(2 /* NOT_SUP */);
    const result = await verifyConnection(
      dialSettings({ type: 'SQL_SERVER', port: peer.port, ssl: { mode: 'require' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tcp: 'ok', tls: 'failed:TLS_NOT_OFFERED', auth: 'skipped' });
    // Everything the client ever sent has arrived once the peer sees it hang up.
    await expect.poll(() => peers.size === 0 || [...peers].every((p) => p.closed)).toBe(true);
    expect(peer.received).toEqual([PRELOGIN]);
  });

  it('goes on in clear text under prefer, with the tls stage skipped', async () => {
    const peer = await startTdsPeer(2 /* NOT_SUP */);
    const result = await verifyConnection(
      dialSettings({ type: 'SQL_SERVER', port: peer.port, ssl: { mode: 'prefer' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({
      tls: 'skipped:TLS_NOT_OFFERED',
      auth: 'failed:AUTH_TIMEOUT',
    });
    expect(peer.received).toContain(LOGIN7);
  });

  it('reports TLS_REQUIRED when the server requires encryption and ssl.mode is disable', async () => {
    const peer = await startTdsPeer(3 /* REQ */);
    const result = await verifyConnection(
      dialSettings({ type: 'SQL_SERVER', port: peer.port }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
    expect(peer.received).not.toContain(LOGIN7);
  });
});
