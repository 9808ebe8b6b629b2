import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const DOCS_PATH = '/docs';
const ASSETS_PREFIX = `${DOCS_PATH}/assets/`;

/** The files of swagger-ui-dist the page needs; nothing else of the package is served. */
const ASSETS = new Set([
  '/swagger-ui.css',
  '/swagger-ui-bundle.js',
  '/favicon-32x32.png',
  '/favicon-16x16.png',
]);

/**
 * Everything the page loads comes from this server: the browser is told so, and refuses anything
 * else. Swagger UI sets inline styles, hence 'unsafe-inline' for styles only.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>dbconn API reference</title>
    <link rel="stylesheet" href="${ASSETS_PREFIX}swagger-ui.css">
    <link rel="icon" type="image/png" href="${ASSETS_PREFIX}favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS_PREFIX}swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/init.js"></script>
  </body>
</html>
`;

// validatorUrl: null — Swagger UI would otherwise load a badge from validator.swagger.io.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** /docs: Swagger UI from the swagger-ui-dist package, served by us, reading /openapi.json. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  // swagger-ui-dist has no "exports" map, so its package.json resolves; its files sit beside it.
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    });
    await scope.register(fastifyStatic, {
      root,
      prefix: ASSETS_PREFIX,
      decorateReply: false,
      index: false,
      allowedPath: (pathName) => ASSETS.has(pathName),
    });
    scope.get(DOCS_PATH, async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
    scope.get(`${DOCS_PATH}/init.js`, async (_req, reply) =>
      reply.type('text/javascript; charset=utf-8').send(INIT),
    );
  });
}
