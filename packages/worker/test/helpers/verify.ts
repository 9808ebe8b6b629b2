import type { StageName, Verification } from '@dbconn/shared';
import type { DialSettings, VerifyOptions } from '../../src/engines/types.js';
import type { DiscoverSchemaOptions } from '../../src/verify/discover-schema.js';

/** Verification options for tests: the default egress policy, deadlines far above local latency. */
export function verifyOptions(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    timeoutMs: 20_000,
    stageTimeoutMs: 10_000,
    egress: { mode: 'default', allow: [], deny: [] },
    ...overrides,
  };
}

/** Discovery options for tests: the verification options and the default MongoDB sample size. */
export function discoverOptions(overrides: Partial<DiscoverSchemaOptions> = {}): DiscoverSchemaOptions {
  return { ...verifyOptions(), sampleSize: 100, ...overrides };
}

/** Short deadlines for the tests that wait for one (a silent server). */
export const shortDeadlines = { timeoutMs: 5_000, stageTimeoutMs: 500 } as const;

export function dialSettings(
  overrides: Partial<DialSettings> & Pick<DialSettings, 'type' | 'port'>,
): DialSettings {
  return {
    host: '127.0.0.1',
    databaseName: 'test',
    userName: 'postgres',
    password: 'not-used',
    metadata: {},
    ...overrides,
  };
}

/**
 * Each stage as one word, for readable assertions: `ok`, `skipped`, `failed:CODE`, `skipped:CODE`.
 */
export function stageSummary(verification: Verification): Record<StageName, string> {
  return Object.fromEntries(
    verification.stages.map((s) => [s.name, s.code ? `${s.status}:${s.code}` : s.status]),
  ) as Record<StageName, string>;
}

/** Everything a caller could see of a result, to check that no secret leaks into it. */
export const visibleText = (verification: Verification) => JSON.stringify(verification);
