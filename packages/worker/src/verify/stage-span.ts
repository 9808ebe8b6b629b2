import { SPAN_ATTRIBUTES, SpanStatusCode, type StageResult, tracer } from '@dbconn/shared';

/**
 * One span per verification stage (`verify <stage>`), a child of the active span (the job's), made
 * as the stage's result is recorded: it ran for the result's duration and ends now. Attributes are
 * the engine, stage, outcome (ok, skipped, failed) and code: never a host, a user or a secret.
 * Stages a single driver call covered (auth and database in one login) each get theirs.
 */
export function recordStageSpan(engine: string | undefined, result: StageResult): void {
  const span = tracer().startSpan(`verify ${result.name}`, {
    startTime: Date.now() - result.durationMs,
    attributes: {
      [SPAN_ATTRIBUTES.stage]: result.name,
      [SPAN_ATTRIBUTES.outcome]: result.status,
      ...(engine ? { [SPAN_ATTRIBUTES.engine]: engine } : {}),
      ...(result.code ? { [SPAN_ATTRIBUTES.code]: result.code } : {}),
    },
  });
  if (result.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
