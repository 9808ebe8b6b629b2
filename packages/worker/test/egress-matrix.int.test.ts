import { createServer, type Server, type Socket } from 'node:net';
import {
  CONNECTION_TYPES,
  compileEgressPolicy,
  type EgressPolicyConfig,
  SelfTargets,
  selfTargetsOf,
} from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { resolverLookup } from '../src/verify/network.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type DnsFixture, startDnsServer } from './fixtures/dns-server.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * The egress matrix (issue 10): every spelling of a forbidden address, the service's own store
 * port, and a name that resolves first to an allowed and then to a forbidden address (served by a
 * DNS responder on loopback, as DNS_SERVERS would point the worker at it) — against listeners that
 * record every connection. A forbidden one is never dialled.
 *
 * The metadata address cannot be listened on here, so its spellings are proven refused before the
 * tcp stage; the recorder's own address (127.0.0.1, forbidden by the deny list in these tests)
 * goes through the same spellings to prove that nothing reaches it — and, allowed, that each
 * spelling does reach it (so the recorder would see a dial that got through).
 */

interface Recorder {
  port: number;
  /** The peer address of every connection accepted, in order. */
  connections: string[];
  stop(): Promise<void>;
}

/** Records every connection and hangs up at the first byte (every engine then fails fast). */
async function startRecorder(host: string, port = 0): Promise<Recorder> {
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections.push(socket.remoteAddress ?? '?');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => socket.destroy());
    socket.setTimeout(2_000, () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const METADATA = '169.254.169.254';
const rebinding = (type: string, order: 'early' | 'late' = 'early') =>
  `rebind-${order}-${type.toLowerCase().replace('_', '-')}.test`;

/** The zone of the responder: names for the metadata address, the recorder, and rebinding. */
const zone = {
  'meta-a.test': (type: 'A' | 'AAAA') => (type === 'A' ? [METADATA] : []),
  'meta-mapped.test': (type: 'A' | 'AAAA') => (type === 'AAAA' ? [`::ffff:${METADATA}`] : []),
  'meta-nat64.test': (type: 'A' | 'AAAA') => (type === 'AAAA' ? ['64:ff9b::a9fe:a9fe'] : []),
  'meta-local-nat64.test': (type: 'A' | 'AAAA') => (type === 'AAAA' ? ['64:ff9b:1:a9fe:a9:fe00::'] : []),
  'meta-compatible.test': (type: 'A' | 'AAAA') => (type === 'AAAA' ? ['::a9fe:a9fe'] : []),
  'rec-a.test': (type: 'A' | 'AAAA') => (type === 'A' ? ['127.0.0.1'] : []),
  'rec-mapped.test': (type: 'A' | 'AAAA') => (type === 'AAAA' ? ['::ffff:127.0.0.1'] : []),
  // One allowed address among forbidden ones: every address is checked, not the first.
  'rec-mixed.test': (type: 'A' | 'AAAA') => (type === 'A' ? ['127.0.0.2', '127.0.0.1'] : []),
  // Rebinding, one name per engine: the first answer is allowed, every later one is the recorder;
  // and the other way round.
  ...Object.fromEntries(
    CONNECTION_TYPES.flatMap((t) => [
      [
        rebinding(t),
        (type: 'A' | 'AAAA', n: number) => (type === 'A' ? [n === 0 ? '127.0.0.2' : '127.0.0.1'] : []),
      ],
      [
        rebinding(t, 'late'),
        (type: 'A' | 'AAAA', n: number) => (type === 'A' ? [n === 0 ? '127.0.0.1' : '127.0.0.2'] : []),
      ],
    ]),
  ),
};

let recorder: Recorder;
/** Allowed, on the same port as the recorder: where a rebinding name first points. */
let allowed: Recorder;
let dns: DnsFixture;

beforeAll(async () => {
  recorder = await startRecorder('127.0.0.1');
  allowed = await startRecorder('127.0.0.2', recorder.port);
  dns = await startDnsServer(zone);
});
afterAll(async () => {
  await recorder?.stop();
  await allowed?.stop();
  await dns?.stop();
});

/** The recorder's address is forbidden; the names are resolved by the responder. */
const DENY_RECORDER: EgressPolicyConfig = { mode: 'default', allow: [], deny: ['127.0.0.1/32'] };

const settings = (host: string, overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'POSTGRESQL', host, port: recorder.port, ...overrides });

/** Deadlines far above local latency on a busy machine; the listeners hang up at once anyway. */
const deadlines = { timeoutMs: 10_000, stageTimeoutMs: 3_000 };

const options = (egress: EgressPolicyConfig = DENY_RECORDER) =>
  verifyOptions({ ...deadlines, egress, lookup: resolverLookup([dns.server]) });

describe('the cloud metadata address, in every spelling: refused before any socket', () => {
  it.each([
    METADATA,
    '2852039166',
    '0xa9fea9fe',
    '0251.0376.0251.0376',
    '0xa9.0xfe.0xa9.0xfe',
    '169.254.43518',
    `::ffff:${METADATA}`,
    '::ffff:a9fe:a9fe',
    '::ffff:0:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::169.254.169.254',
    '64:ff9b:1:a9fe:a9:fe00::',
    `::${METADATA}`,
    'fd00:ec2::254',
    'fd20:ce::254',
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'meta-a.test',
    'meta-mapped.test',
    'meta-nat64.test',
    'meta-local-nat64.test',
    'meta-compatible.test',
  ])('%s', async (host) => {
    const result = await verifyConnection(settings(host), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    expect(result.server?.address).toBeUndefined();
  });

  it('an operator NAT64 prefix (EGRESS_NAT64_PREFIXES) is judged the same way', async () => {
    const egress = { ...DENY_RECORDER, nat64Prefixes: ['2001:db8:64::/96'] };
    const result = await verifyConnection(settings('2001:db8:64::a9fe:a9fe'), options(egress));
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
  });
});

describe("the recorder's address, forbidden, in every spelling: never dialled", () => {
  const spellings = [
    '127.0.0.1',
    '2130706433',
    '0x7f000001',
    '0177.0.0.1',
    '127.1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:0:7f00:1',
    '64:ff9b::7f00:1',
    'rec-a.test',
    'rec-mapped.test',
    'rec-mixed.test',
  ];

  it.each(spellings)('%s', async (host) => {
    const before = recorder.connections.length;
    const result = await verifyConnection(settings(host), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    expect(recorder.connections.length).toBe(before);
  });

  it('allowed, the spellings a socket here can route do reach it (the recorder sees a dial that gets through)', async () => {
    const open: EgressPolicyConfig = { mode: 'default', allow: [], deny: [] };
    for (const host of ['127.0.0.1', '2130706433', '0x7f000001', '127.1', '::ffff:127.0.0.1', 'rec-a.test']) {
      const before = recorder.connections.length;
      const result = await verifyConnection(settings(host), options(open));
      expect(stageSummary(result).tcp, host).toBe('ok');
      expect(recorder.connections.length, host).toBeGreaterThan(before);
    }
  });
});

describe("the service's own endpoints: never dialled, whatever the policy", () => {
  // The recorder plays the store (its port, database `dbconn`) and Redis plays on the allowed one.
  const selfTargets = () => {
    const policy = compileEgressPolicy(DENY_RECORDER);
    return new SelfTargets(
      selfTargetsOf({
        storeUrl: `postgres://svc@127.0.0.1:${recorder.port}/dbconn`,
        redisUrl: `redis://127.0.0.1:${recorder.port + 1}`,
        listeners: [],
      }),
      policy,
    );
  };
  const openToEveryone: EgressPolicyConfig = { mode: 'default', allow: ['127.0.0.0/8', '::1'], deny: [] };

  it.each(['127.0.0.1', 'localhost', '::ffff:127.0.0.1', '127.0.0.2', '0x7f000001', 'rec-a.test'])(
    "the store's database at %s and the store's port: SELF_TARGET_FORBIDDEN, even where an allow list opens loopback",
    async (host) => {
      const before = { recorder: recorder.connections.length, allowed: allowed.connections.length };
      // localhost is the system resolver's; the others are literals or the responder's names.
      const lookup = host === 'localhost' ? {} : { lookup: resolverLookup([dns.server]) };
      const result = await verifyConnection(settings(host, { databaseName: 'dbconn' }), {
        ...verifyOptions({ ...deadlines, egress: openToEveryone, ...lookup }),
        selfTargets: selfTargets(),
      });
      expect(stageSummary(result)).toMatchObject({ dns: 'failed:SELF_TARGET_FORBIDDEN', tcp: 'skipped' });
      expect(result.error?.message).toMatch(/one of this service's own endpoints/);
      expect(recorder.connections.length).toBe(before.recorder);
      expect(allowed.connections.length).toBe(before.allowed);
    },
  );

  it('another database on the same server is dialled', async () => {
    const before = recorder.connections.length;
    const result = await verifyConnection(settings('127.0.0.1', { databaseName: 'reports' }), {
      ...verifyOptions({ ...deadlines, egress: openToEveryone }),
      selfTargets: selfTargets(),
    });
    expect(stageSummary(result).tcp).toBe('ok');
    expect(recorder.connections.length).toBeGreaterThan(before);
  });
});

describe.each(CONNECTION_TYPES)('%s: a name that rebinds between lookups', (type) => {
  it('first allowed, then forbidden: only the checked (allowed) address is dialled', async () => {
    const before = { recorder: recorder.connections.length, allowed: allowed.connections.length };
    const name = rebinding(type);
    const result = await verifyConnection(settings(name, { type }), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'ok', tcp: 'ok' });
    expect(result.server?.address).toBe('127.0.0.2');
    expect(allowed.connections.length).toBeGreaterThan(before.allowed);
    expect(recorder.connections.length).toBe(before.recorder);
    // The name was resolved once per verification: a driver that looked it up again would have
    // got the recorder, and asked again.
    expect(dns.questions.filter((q) => q === `${name}/A`)).toHaveLength(1);
  });

  it('first forbidden, then allowed: refused at dns, nothing dialled', async () => {
    const before = recorder.connections.length;
    const name = rebinding(type, 'late');
    const result = await verifyConnection(settings(name, { type }), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    expect(recorder.connections.length).toBe(before);
    // Asked once: nothing looked the name up again to get the allowed answer.
    expect(dns.questions.filter((q) => q === `${name}/A`)).toHaveLength(1);
  });
});

describe('DNS_SERVERS resolution', () => {
  it('a name the responder does not have is DNS_NOT_FOUND', async () => {
    const result = await verifyConnection(settings('nothing.test'), options());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:DNS_NOT_FOUND', tcp: 'skipped' });
  });
});
