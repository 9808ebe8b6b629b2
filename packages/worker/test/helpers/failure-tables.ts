import {
  type FailureContext,
  isVerificationCode,
  STAGE_NAMES,
  type StageName,
  VERIFICATION_CODES,
} from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import type { FailureSpec } from '../../src/failures/stage-failure.js';

const context: FailureContext = {
  engine: 'TestDB',
  host: 'db.example.com',
  port: 1234,
  user: 'app_user',
  database: 'sales',
  schema: 'reporting',
  sslMode: 'verify-full',
  stage: 'auth',
  timeoutMs: 5000,
};

const order = (stage: StageName) => STAGE_NAMES.indexOf(stage);

/**
 * The invariants every row of a driver-error table keeps, whatever the engine: what the row says
 * must be something the catalogue (shared/src/schemas/verification-codes.ts) allows. These hold
 * for any correct row and fail for a row that maps to a code the catalogue does not have, at a
 * stage the code cannot be reported at, or with text that leaks `undefined`.
 *
 * `runs` are the stages the classified driver calls run in: a row without a stage is reported at
 * the running one, so its code must be one of them.
 */
export function describeFailureTable(
  name: string,
  rows: readonly (readonly [key: string, spec: FailureSpec])[],
  runs: readonly StageName[],
): void {
  describe(`${name}: every row`, () => {
    it.each(rows)('%s maps to a catalogue code at a stage the code is reported at', (_key, spec) => {
      expect(isVerificationCode(spec.code)).toBe(true);
      const allowed = VERIFICATION_CODES[spec.code].stages;
      if (spec.stage) {
        expect(allowed).toContain(spec.stage);
        // What the stages before it did only means something when there are stages before it.
        if (spec.priorStages) expect(order(spec.stage)).toBeGreaterThan(order(runs[0] ?? 'tls'));
      } else {
        expect(allowed.some((stage) => runs.includes(stage))).toBe(true);
        expect(spec.priorStages).toBeUndefined();
      }
    });

    it.each(rows.filter(([, spec]) => spec.message || spec.hint))(
      '%s has its own text, readable at every stage it can be reported at',
      (_key, spec) => {
        const stages = spec.stage ? [spec.stage] : VERIFICATION_CODES[spec.code].stages;
        for (const stage of stages) {
          for (const text of [spec.message, spec.hint]) {
            if (!text) continue;
            const said = text({ ...context, stage });
            expect(said.length).toBeGreaterThan(10);
            expect(said).not.toMatch(/undefined|null|\[object/);
          }
        }
      },
    );
  });
}

/** The stages an engine's driver calls run in (after the socket is open). */
export const ENGINE_STAGES = ['tls', 'auth', 'database', 'schema'] as const satisfies readonly StageName[];
