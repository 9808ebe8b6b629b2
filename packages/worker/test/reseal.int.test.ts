import { randomBytes } from 'node:crypto';
import { type ConnectionRecord, openSecrets, SealError, sealedKeyVersion } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Env, insertConnection, openEnv } from './e2e-fixtures.js';
import { runReseal } from './fixtures/reseal.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const MASTER_KEYS_V1 = `1:${k1.toString('base64')}`;
const MASTER_KEYS_V1_V2 = `${MASTER_KEYS_V1},2:${k2.toString('base64')}`;

describe('the reseal command (PostgreSQL store)', () => {
  let env: Env;
  let commandEnv: Record<string, string>;

  beforeAll(async () => {
    // The API and workers ran with key 1 only; the rotation adds key 2.
    env = await openEnv({ MASTER_KEYS: MASTER_KEYS_V1 });
    commandEnv = {
      NODE_ENV: 'production',
      STORE_URL: env.config.store.url,
      MASTER_KEYS: MASTER_KEYS_V1_V2,
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    await env?.close();
  });

  it('re-seals under the newest key, prints the report, and exits 1 while a record does not open, 0 after', async () => {
    const connections = [
      await insertConnection(env),
      await insertConnection(env),
      await insertConnection(env),
    ];
    const garbage = await insertConnection(env, {
      sealedSecrets: 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
    });

    const first = await runReseal(commandEnv);
    expect(first.code, first.stderr).toBe(1);
    expect(JSON.parse(first.stdout)).toEqual({
      keyVersion: 2,
      scanned: 4,
      resealed: 3,
      alreadyCurrent: 0,
      skipped: 0,
      failed: 1,
    });
    // The failure is in the log (stderr) by id; no secret is anywhere in the output.
    const failure = first.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === 'sealed secrets do not open');
    expect(failure).toMatchObject({ connectionId: garbage.id, level: 50 });
    for (const { password, sealedSecrets } of connections) {
      expect(first.stdout + first.stderr).not.toContain(password);
      expect(first.stdout + first.stderr).not.toContain(sealedSecrets);
    }

    const onlyV2 = { keys: new Map([[2, k2]]) };
    for (const connection of connections) {
      const { password, ...inserted } = connection;
      const stored = await env.store.findById({ organizationId: connection.organizationId }, connection.id);
      const context = { organizationId: connection.organizationId, connectionId: connection.id };
      expect(sealedKeyVersion(stored?.sealedSecrets ?? '')).toBe(2);
      expect(openSecrets(onlyV2, stored?.sealedSecrets ?? '', context)).toEqual({ password });
      expect(stored).toEqual<ConnectionRecord>({ ...inserted, sealedSecrets: stored?.sealedSecrets ?? '' });
    }
    // Key 1 alone no longer opens them: they really moved.
    const onlyV1 = { keys: new Map([[1, k1]]) };
    const moved = await env.store.findById({ organizationId: env.organizationId }, connections[0]?.id ?? '');
    expect(() =>
      openSecrets(onlyV1, moved?.sealedSecrets ?? '', {
        organizationId: env.organizationId,
        connectionId: connections[0]?.id ?? '',
      }),
    ).toThrow(SealError);

    // The broken connection is deleted; the next run has nothing to do and succeeds.
    await env.store.softDelete({ organizationId: env.organizationId }, garbage.id);
    const second = await runReseal(commandEnv);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      keyVersion: 2,
      scanned: 3,
      resealed: 0,
      alreadyCurrent: 3,
      skipped: 0,
      failed: 0,
    });
  });

  it('refuses a bad MASTER_KEYS naming the variable, with nothing on stdout', async () => {
    const run = await runReseal({ ...commandEnv, MASTER_KEYS: '2:too-short' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/MASTER_KEYS: each entry must be/);
  });
});
