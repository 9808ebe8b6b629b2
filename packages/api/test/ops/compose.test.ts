import { readFileSync } from 'node:fs';
import { ENV_VARIABLES, loadConfig } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const compose = parse(readFileSync(new URL('../../../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as { services: Record<string, { environment?: Record<string, string | number | boolean> }> };

/** What docker compose would pass, with `${VAR:?…}` given a valid value and `${VAR:-default}` its default. */
const GIVEN: Record<string, string> = { MASTER_KEYS: `1:${Buffer.alloc(32, 1).toString('base64')}` };
function interpolate(value: string): string {
  return value.replace(
    /\$\{(\w+)(?::?([-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, word?: string) => {
      if (GIVEN[name] !== undefined) return GIVEN[name];
      if (op === '-') return word ?? '';
      throw new Error(`docker-compose.yml needs ${name}; give the test a value for it`);
    },
  );
}

const environmentOf = (service: string) =>
  Object.fromEntries(
    Object.entries(compose.services[service]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  );

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
});
