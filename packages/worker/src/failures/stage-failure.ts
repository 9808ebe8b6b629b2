import type { FailureText, StageName, VerificationCode } from '@dbconn/shared';

/** How a classified error reads: a code, and where the code's default text is not precise enough, better text. */
export interface FailureSpec {
  code: VerificationCode;
  /**
   * The stage the failure belongs to when it is later than the running one: a single driver call
   * often covers several stages (pg's connect reports an unknown database after a good login).
   */
  stage?: StageName;
  /**
   * What the stages between the running one and `stage` did: `ok` when the server got past them
   * (a pg login before 3D000), `skipped` when it never reached them (an Oracle listener that does
   * not know the service refuses before any login).
   */
  priorStages?: 'ok' | 'skipped';
  message?: FailureText;
  hint?: FailureText;
}

/** A stage failed. Thrown inside a stage, caught by the stage runner; never leaves a verification. */
export class StageFailure extends Error {
  override name = 'StageFailure';

  constructor(
    readonly spec: FailureSpec,
    options: { cause?: unknown } = {},
  ) {
    // The message is the code only: driver text can echo what the user typed (a password in a
    // connect string), so it never becomes part of what is shown.
    super(spec.code, options);
  }

  get code(): VerificationCode {
    return this.spec.code;
  }
}

export const fail = (spec: FailureSpec | VerificationCode, cause?: unknown): StageFailure =>
  new StageFailure(typeof spec === 'string' ? { code: spec } : spec, { cause });
