// Renders /docs and /admin/queues in headless Chromium and saves a PNG of each, to see that the
// pages work with nothing loaded from outside this server. Not part of the test suite (CI has no
// Chromium). Needs `apt-get install -y chromium`, PostgreSQL and Redis, as the tests do:
//
//   pnpm --filter @dbconn/api exec tsx --conditions=@dbconn/source ../../scripts/screenshot-ops.ts [out-dir]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createSeed, startApi } from '../packages/api/test/harness.js';

const run = promisify(execFile);
const outDir = resolve(process.argv[2] ?? 'bench/screenshots');
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

const h = await startApi(admin);
try {
  await createSeed(h); // one waiting job for the dashboard to show
  const origin = new URL(h.url);
  const pages = [
    { name: 'docs', url: `${h.url}/docs`, rendered: /class="opblock-summary-path"/g },
    {
      name: 'admin-queues',
      url: `http://${admin.ADMIN_USER}:${admin.ADMIN_PASSWORD}@${origin.host}/admin/queues/queue/verify`,
      rendered: /verify/g,
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
    .map((l) => JSON.parse(l) as { req?: { url?: string } })
    .flatMap((l) => (l.req?.url ? [l.req.url] : []));
  console.log(`requests served: ${served.length}\n  ${[...new Set(served)].join('\n  ')}`);
} finally {
  await h.close();
}
