// Renders /docs and /admin/queues in headless Chromium and saves a PNG of each, to see that the
// pages work with nothing loaded from outside this server. Not part of the test suite (CI has no
// Chromium). Needs `apt-get install -y chromium`, PostgreSQL and Redis, as the tests do:
//
//   pnpm --filter @dbconn/api exec tsx --conditions=@dbconn/source ../../scripts/screenshot-ops.ts [out-dir]
//
// The PNGs go to bench/screenshots/ unless an out-dir is given.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createSeed, startApi } from '../packages/api/test/harness.js';

const run = promisify(execFile);
const outDir = resolve(process.argv[2] ?? fileURLToPath(new URL('../bench/screenshots/', import.meta.url)));
const chromium = process.env.CHROMIUM ?? 'chromium';
const admin = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'screenshot-only' };

async function browse(url: string, extra: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'dbconn-chromium-'));
  try {
    const { stdout } = await run(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--window-size=1280,1600',
        // Let the page's scripts fetch /openapi.json (or the queue API) and render before the shot.
        '--virtual-time-budget=15000',
        ...extra,
        url,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Headless Chromium cannot answer a Basic prompt, and credentials in the URL (`http://u:p@…`) make
 * the page's own fetch() calls throw. So the dashboard is viewed through this little proxy, which
 * adds the header the way a browser does once the user has typed the credentials.
 */
function authenticatingProxy(target: URL, authorization: string) {
  return createServer((req, res) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, authorization },
        // No keep-alive pool: an idle upstream socket would keep the script from exiting.
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

const h = await startApi(admin);
const proxy = authenticatingProxy(
  new URL(h.url),
  `Basic ${Buffer.from(`${admin.ADMIN_USER}:${admin.ADMIN_PASSWORD}`).toString('base64')}`,
);
await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
try {
  await createSeed(h); // one waiting job for the dashboard to show
  const pages = [
    { name: 'docs', url: `${h.url}/docs`, rendered: /class="opblock-summary-path"/g },
    {
      name: 'admin-queues',
      url: `${proxyUrl}/admin/queues/queue/verify`,
      // A translated label: the UI loaded its locale files from this server too.
      rendered: /Added at|Filter queues/g,
    },
  ];
  for (const page of pages) {
    const file = join(outDir, `${page.name}.png`);
    await run('mkdir', ['-p', outDir]);
    await browse(page.url, [`--screenshot=${file}`]);
    const dom = await browse(page.url, ['--dump-dom']);
    const matches = dom.match(page.rendered)?.length ?? 0;
    console.log(`${page.name}: ${file} (${statSync(file).size} bytes); rendered markers: ${matches}`);
  }
  // Every request the pages made reached this server; anything else would have been an error
  // (no network here) or refused by the Content-Security-Policy of /docs.
  const served = h.logs
    .map((l) => JSON.parse(l) as { request?: { path?: string } })
    .flatMap((l) => (l.request?.path ? [l.request.path] : []));
  console.log(`requests served: ${served.length}\n  ${[...new Set(served)].join('\n  ')}`);
} finally {
  proxy.closeAllConnections();
  proxy.close();
  await h.close();
}
