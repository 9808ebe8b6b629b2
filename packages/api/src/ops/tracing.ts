import { SPAN_ATTRIBUTES, type Span, SpanKind, SpanStatusCode, tracer } from '@dbconn/shared';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * A SERVER span per request, named `<method> <route pattern>` (never the URL: a query string can
 * carry a tRPC input, password included), a child of the caller's `traceparent` when it sends one.
 * Everything the request does runs inside it — later hooks, the handler, logs, enqueued jobs — so
 * the first hook enters its context and binds the request's and reply's streams to it (a body
 * arrives in stream callbacks, which would otherwise run outside). Register before any other hook;
 * only while tracing runs (otherwise nothing is added to a request's path).
 */
export function registerRequestSpans(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (req, reply, done) => {
    const route = req.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer().startSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [SPAN_ATTRIBUTES.requestId]: req.id,
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
        },
      },
      parent,
    );
    spans.set(req, span);
    const active = trace.setSpan(parent, span);
    context.bind(active, req.raw);
    context.bind(active, reply.raw);
    context.with(active, done);
  });
  const end = (req: FastifyRequest, statusCode: number | undefined) => {
    const span = spans.get(req);
    if (!span) return;
    spans.delete(req);
    if (req.organizationId) span.setAttribute(SPAN_ATTRIBUTES.organizationId, req.organizationId);
    if (statusCode !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
      // For a server, only its own failures are errors (OpenTelemetry's HTTP conventions).
      if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  app.addHook('onResponse', async (req, reply) => end(req, reply.statusCode));
  app.addHook('onRequestAbort', async (req) => end(req, undefined));
}
