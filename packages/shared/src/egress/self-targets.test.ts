import { describe, expect, it } from 'vitest';
import { compileEgressPolicy } from './policy.js';
import { SelfTargets, selfTargetsOf } from './self-targets.js';

const policy = compileEgressPolicy({ mode: 'default', allow: [], deny: [] });

describe('selfTargetsOf: the endpoints of a configuration', () => {
  it('reads host, port and database of a PostgreSQL store, Redis, and the listeners', () => {
    expect(
      selfTargetsOf({
        storeUrl: 'postgres://svc:pw@db.internal:6543/dbconn?schema=s1',
        redisUrl: 'rediss://:pw@[fd00::5]',
        listeners: [
          { role: 'api', host: '0.0.0.0', port: 8080 },
          { role: 'worker', host: '0.0.0.0', port: 0 },
        ],
      }),
    ).toEqual([
      { role: 'store', host: 'db.internal', port: 6543, database: 'dbconn' },
      { role: 'redis', host: 'fd00::5', port: 6379 },
      { role: 'api', host: '0.0.0.0', port: 8080 },
    ]);
  });

  it('reads every host of a MongoDB store, and marks an SRV name', () => {
    const targets = (storeUrl: string) =>
      selfTargetsOf({ storeUrl, redisUrl: 'redis://127.0.0.1:6379', listeners: [] }).filter(
        (t) => t.role === 'store',
      );
    expect(targets('mongodb://a.internal,b.internal:27018/dbconn?replicaSet=rs0')).toEqual([
      { role: 'store', host: 'a.internal', port: 27017, database: 'dbconn' },
      { role: 'store', host: 'b.internal', port: 27018, database: 'dbconn' },
    ]);
    expect(targets('mongodb+srv://cluster.example.com/dbconn')).toEqual([
      { role: 'store', host: 'cluster.example.com', port: 27017, database: 'dbconn', srv: true },
    ]);
  });
});

describe('SelfTargets.match', () => {
  const resolve = async (host: string) => {
    if (host === 'store.internal') return ['10.0.0.5'];
    if (host === 'localhost') return ['127.0.0.1', '::1'];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const targets = new SelfTargets(
    [
      { role: 'store', host: 'store.internal', port: 5432, database: 'dbconn' },
      { role: 'redis', host: 'localhost', port: 6379 },
      { role: 'api', host: '0.0.0.0', port: 8080 },
    ],
    policy,
    resolve,
  );

  it("matches the store's own database on its address and port only (letter case ignored)", async () => {
    expect(await targets.match('10.0.0.5', 5432, 'dbconn')).toBe('store');
    expect(await targets.match('::ffff:10.0.0.5', 5432, 'DBConn')).toBe('store');
    expect(await targets.match('64:ff9b::a00:5', 5432, 'dbconn')).toBe('store');
    expect(await targets.match('10.0.0.5', 5432, 'reports')).toBeUndefined();
    expect(await targets.match('10.0.0.5', 5433, 'dbconn')).toBeUndefined();
    expect(await targets.match('10.0.0.6', 5432, 'dbconn')).toBeUndefined();
  });

  it('matches a local endpoint on any address of this machine', async () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '::ffff:127.0.0.1']) {
      expect(await targets.match(address, 6379, 'x')).toBe('redis');
      expect(await targets.match(address, 8080, 'x')).toBe('api');
    }
    expect(await targets.match('10.9.9.9', 6379, 'x')).toBeUndefined();
  });
});
