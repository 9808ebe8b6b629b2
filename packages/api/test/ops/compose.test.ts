import { readFileSync } from 'node:fs';
import { ENV_VARIABLES, loadConfig } from '@dbconn/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AccessControl } from '../../src/auth/access-control.js';

const compose = parse(readFileSync(new URL('../../../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, { environment?: Record<string, string | number | boolean> }> };

/** What docker compose would pass, with `${VAR:?…}` given a valid value and `${VAR:-default}` its default. */
const GIVEN: Record<string, string> = { MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}` };
function interpolate(value: string, shell: Record<string, string> = {}): string {
  const given = { ...GIVEN, ...shell };
  return value.replace(
    /\$\{(\w+)(?::?([-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, word?: string) => {
      if (given[name] !== undefined) return given[name];
      if (op === '-') return word ?? '';
      throw new Error(`docker-compose.yml needs ${name}; give the test a value for it`);
    },
  );
}

/** A service's environment, with `shell` as the variables set where `docker compose up` runs. */
const environmentOf = (service: string, shell: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries(compose.services[service]?.environment ?? {}).map(([k, v]) => [
      k,
      interpolate(String(v), shell),
    ]),
  );

/** Whether the API would start: the configuration loads and access control accepts it. */
function apiStarts(shell: Record<string, string>) {
  const app = Fastify();
  try {
    return AccessControl.fromConfig(loadConfig(environmentOf('api', shell)).auth, app.log).isEnabled;
  } finally {
    void app.close();
  }
}

describe('docker-compose.yml', () => {
  it.each(['api', 'worker'])('gives the %s only variables the configuration knows', (service) => {
    const env = environmentOf(service);
    expect(Object.keys(env).length).toBeGreaterThan(3);
    expect(Object.keys(env).filter((name) => !(ENV_VARIABLES as string[]).includes(name))).toEqual([]);
  });

  it.each(['api', 'worker'])('gives the %s values the configuration accepts', (service) => {
    expect(() => loadConfig(environmentOf(service))).not.toThrow();
  });

  it('points the api and the worker at the same store, Redis and queue prefix', () => {
    const api = environmentOf('api');
    const worker = environmentOf('worker');
    for (const name of ['STORE_URL', 'REDIS_URL', 'QUEUE_PREFIX', 'MASTER_KEYS']) {
      expect(worker[name], name).toBe(api[name]);
    }
  });

  it('runs the api in production only with auth: either mode from the shell, never open', () => {
    expect(environmentOf('api').NODE_ENV).toBe('production');
    expect(() => apiStarts({})).toThrow(/AUTH_REQUIRED/);
    expect(
      apiStarts({ PLUGIN_AUTH_ENABLED: 'true', PLUGIN_AUTH_ADDRESS: 'http://access-manager:8080' }),
    ).toBe(true);
    expect(
      apiStarts({
        AUTH_JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
        AUTH_JWT_ISSUER: 'https://issuer.example',
        AUTH_JWT_AUDIENCE: 'dbconn',
        MULTI_TENANT_ENABLED: 'true',
      }),
    ).toBe(true);
    // Half-configured stops the start too.
    expect(() => apiStarts({ PLUGIN_AUTH_ENABLED: 'true' })).toThrow(/PLUGIN_AUTH_ADDRESS/);
    expect(environmentOf('worker', { MULTI_TENANT_ENABLED: 'true' }).MULTI_TENANT_ENABLED).toBe('true');
  });
});
