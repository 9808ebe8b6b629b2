import { createServer, type Server, type Socket } from 'node:net';
import type { EgressPolicyConfig } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolverLookup, resolverSrv } from '../src/verify/network.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type DnsFixture, startDnsServer } from './fixtures/dns-server.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * `mongodb+srv://` (docs/contract.md §12): the worker's dns stage asks a real DNS responder on
 * loopback for `_mongodb._tcp.<name>`, checks every target under the egress policy and dials the
 * first one — proven by a listener that records each connection (no MongoDB server runs here, so
 * the dial ends after the tcp stage; the engine's own stages are tested in mongodb-session).
 */
interface Recorder {
  port: number;
  connections: string[];
  stop(): Promise<void>;
}

async function startRecorder(host: string): Promise<Recorder> {
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.push(socket.remoteAddress ?? '?');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let first: Recorder;
let second: Recorder;
let dns: DnsFixture;

beforeAll(async () => {
  first = await startRecorder('127.0.0.2');
  second = await startRecorder('127.0.0.3');
  const a = (address: string) => (type: 'A' | 'AAAA') => (type === 'A' ? [address] : []);
  dns = await startDnsServer(
    {
      'member-1.cluster.test': a('127.0.0.2'),
      'member-2.cluster.test': a('127.0.0.3'),
      'meta.cluster.test': a('169.254.169.254'),
      'member.elsewhere.test': a('127.0.0.2'),
    },
    {
      // Lower priority first, whatever the order of the answer.
      '_mongodb._tcp.rs.cluster.test': [
        { priority: 20, weight: 0, port: second.port, target: 'member-2.cluster.test' },
        { priority: 10, weight: 0, port: first.port, target: 'member-1.cluster.test' },
      ],
      '_mongodb._tcp.metadata.cluster.test': [
        { priority: 10, weight: 0, port: first.port, target: 'member-1.cluster.test' },
        { priority: 20, weight: 0, port: 80, target: 'meta.cluster.test' },
      ],
      '_mongodb._tcp.away.cluster.test': [
        { priority: 10, weight: 0, port: first.port, target: 'member.elsewhere.test' },
      ],
    },
  );
});
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await dns?.stop();
});

const settings = (host: string) =>
  dialSettings({ type: 'MONGODB', host, port: 27017, metadata: { srv: 'true' }, ssl: { mode: 'disable' } });
const options = (egress: EgressPolicyConfig = { mode: 'default', allow: [], deny: [] }) =>
  verifyOptions({
    timeoutMs: 10_000,
    stageTimeoutMs: 3_000,
    egress,
    lookup: resolverLookup([dns.server]),
    srvLookup: resolverSrv([dns.server]),
  });

describe('mongodb+srv: the SRV lookup in the dns stage, under the egress policy', () => {
  it('dials the first target by priority, on the port of its record', async () => {
    const [firstBefore, secondBefore] = [first.connections.length, second.connections.length];
    const result = await verifyConnection(settings('rs.cluster.test'), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'ok', tcp: 'ok' });
    expect(result.server?.address).toBe('127.0.0.2');
    expect(first.connections.length).toBeGreaterThan(firstBefore);
    expect(second.connections.length).toBe(secondBefore);
  });

  it('refuses the whole name when any target resolves to a forbidden address, before any socket', async () => {
    const before = first.connections.length;
    const result = await verifyConnection(settings('metadata.cluster.test'), options());
    expect(result.error).toMatchObject({ stage: 'dns', code: 'HOST_FORBIDDEN' });
    expect(first.connections.length).toBe(before);
  });

  it('refuses a target outside the name’s parent domain', async () => {
    const result = await verifyConnection(settings('away.cluster.test'), options());
    expect(result.error).toMatchObject({ stage: 'dns', code: 'HOST_FORBIDDEN' });
  });

  it('applies the deny list to each target’s addresses', async () => {
    const result = await verifyConnection(
      settings('rs.cluster.test'),
      options({ mode: 'default', allow: [], deny: ['127.0.0.3/32'] }),
    );
    expect(result.error).toMatchObject({ stage: 'dns', code: 'HOST_FORBIDDEN' });
  });

  it('answers DNS_NOT_FOUND for a name without SRV records', async () => {
    const result = await verifyConnection(settings('nothing.cluster.test'), options());
    expect(result.error).toMatchObject({ stage: 'dns', code: 'DNS_NOT_FOUND' });
  });
});
