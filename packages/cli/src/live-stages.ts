import { STAGE_NAMES } from '@dbconn/shared/verification-codes';
import type { Output, StageLine } from './output.js';

/** What a verification, a test or a trial ends with, as far as the terminal shows it. */
export interface Outcome {
  stages: StageLine[];
  error?: { code: string; message: string; hint: string } | undefined;
  warnings?: { code: string; message: string; hint: string }[] | undefined;
}

/** The stages not shown yet, the error's message and hint, and the warnings. */
export function printOutcome(output: Output, outcome: Outcome | undefined, shown: ReadonlySet<string>): void {
  for (const stage of outcome?.stages ?? []) if (!shown.has(stage.name)) output.stage(stage);
  if (outcome?.error) output.hint(`${outcome.error.message}\n  ${outcome.error.hint}`);
  for (const warning of outcome?.warnings ?? []) output.line(`! ${warning.code}: ${warning.message}`);
}

/**
 * Stages shown as the worker finishes them (`add --wait`, `test`, `try`): each stage once, with a
 * spinner naming the stage running now; at the end, what the stream did not bring comes from the
 * outcome.
 */
export class LiveStages {
  private readonly shown = new Set<string>();

  constructor(private readonly output: Output) {}

  /** The first stage is running. */
  begin(): void {
    this.output.startSpinner(STAGE_NAMES[0]);
  }

  stage(stage: StageLine): void {
    if (this.shown.has(stage.name)) return;
    this.shown.add(stage.name);
    this.output.stage(stage);
    const next = STAGE_NAMES[(STAGE_NAMES as readonly string[]).indexOf(stage.name) + 1];
    if (stage.status !== 'failed' && next) this.output.startSpinner(next);
  }

  finish(outcome: Outcome | undefined): void {
    printOutcome(this.output, outcome, this.shown);
  }
}
