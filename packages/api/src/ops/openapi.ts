import { readFileSync } from 'node:fs';
import { components, type OpenApiDocument, SECURITY_SCHEMES } from './openapi-components.js';
import { paths } from './openapi-paths.js';

/**
 * The OpenAPI 3.1 document of the REST door and the probes, generated from the zod schemas the
 * routes parse with (request bodies and parameters as zod reads them, responses as the service
 * writes them), so the document cannot drift from a field rule.
 *
 * Built from openapi-components.ts (the schemas), openapi-operations.ts (parameters, responses, an
 * operation) and openapi-paths.ts (every route).
 */

function packageVersion(): string {
  // src/ops and dist/ops are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function buildOpenApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'dbconn — database connections',
      version: packageVersion(),
      description:
        'Register database connections; a worker verifies each one (dns, tcp, tls, auth, database, schema). ' +
        'Errors are application/problem+json with a stable `code`. Internal TypeScript apps can use the tRPC router at /trpc instead.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'connections', description: 'the management API (REST)' },
      { name: 'webhooks', description: 'signed notifications of connection status changes' },
      { name: 'operations', description: 'probes' },
    ],
    paths: paths(),
    components: { schemas: components(), securitySchemes: SECURITY_SCHEMES },
  };
}

/** Fastify's `/a/:id/b` as OpenAPI's `/a/{id}/b`. */
export const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
