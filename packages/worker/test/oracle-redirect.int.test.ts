import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type SocketFixture, startSilentServer } from './fixtures/index.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * A TNS REDIRECT packet (type 5): the 8-byte header, the length of the redirect data, then the
 * address the client should go to instead, as node-oracledb reads it (sqlnet/packet.js).
 */
function redirectPacket(address: string): Buffer {
  const data = Buffer.from(address, 'ascii');
  const packet = Buffer.alloc(10 + data.length);
  packet.writeUInt16BE(packet.length, 0);
  packet[4] = 5;
  packet.writeUInt16BE(data.length, 8);
  data.copy(packet, 10);
  return packet;
}

/** A listener that answers every CONNECT with a REDIRECT to `target`, as a RAC SCAN listener does. */
async function startRedirectingListener(target: number): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () =>
      socket.write(redirectPacket(`(ADDRESS=(PROTOCOL=TCP)(HOST=127.0.0.1)(PORT=${target}))`)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('an Oracle listener that redirects the login elsewhere (docs/contract.md §8: only the checked address)', () => {
  let elsewhere: SocketFixture;
  let listener: Awaited<ReturnType<typeof startRedirectingListener>>;
  beforeAll(async () => {
    elsewhere = await startSilentServer();
    listener = await startRedirectingListener(elsewhere.port);
  });
  afterAll(async () => {
    await listener?.stop();
    await elsewhere?.stop();
  });

  it('is not followed: nothing reaches the other address, and the login fails with REDIRECT_REFUSED', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'ORACLE', port: listener.port, userName: 'scott', password: 'tiger' }),
      verifyOptions({ stageTimeoutMs: 3_000 }),
    );
    expect(elsewhere.accepted()).toBe(0);
    expect(stageSummary(result)).toMatchObject({ tcp: 'ok', auth: 'failed:REDIRECT_REFUSED' });
    expect(result.error?.message).toContain('redirected the login');
    expect(JSON.stringify(result)).not.toContain(String(elsewhere.port));
  });

  it('leaves the rest of the process free to open sockets anywhere', async () => {
    const { connect } = await import('node:net');
    const socket = connect(elsewhere.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.destroy();
    expect(elsewhere.accepted()).toBe(1);
  });
});
