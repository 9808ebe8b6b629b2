import { randomBytes } from 'node:crypto';
import type { Connection } from '@dbconn/shared';
import { vi } from 'vitest';
import { type Harness, http } from '../harness.js';

export const PATH = '/v1/management/connections';

/** The machine's shared PostgreSQL, which trusts local logins: settings that verify. */
export const LOCAL_PG = {
  type: 'POSTGRESQL',
  host: '127.0.0.1',
  port: 5432,
  databaseName: 'test',
  userName: 'postgres',
  password: 'trust-accepts-any',
} as const;

/** Creates a connection through REST (201 expected) and returns its id. */
export async function createConnection(h: Harness, body: Record<string, unknown>): Promise<string> {
  const res = await http(h, 'POST', PATH, {
    body: { configName: `e2e-${randomBytes(4).toString('hex')}`, ...body },
    headers: { 'x-product-name': 'e2e' },
  });
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Polls GET until the status is one of `statuses`; returns the resource. */
export async function waitForStatus(
  h: Harness,
  id: string,
  statuses: string[] = ['active', 'failed'],
  timeoutMs = 30_000,
): Promise<Connection> {
  return vi.waitFor(
    async () => {
      const res = await http(h, 'GET', `${PATH}/${id}`);
      if (res.status !== 200 || !statuses.includes(res.body.status)) {
        throw new Error(`connection ${id} did not reach ${statuses.join('/')}: ${JSON.stringify(res.body)}`);
      }
      return res.body as Connection;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

export { closedPort, startSilentServer as silentServer } from '@dbconn/worker/test-fixtures';
