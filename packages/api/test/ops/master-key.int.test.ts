import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 10 item 3: no public master key. The API and the worker refuse to start without
 * MASTER_KEYS (unless NODE_ENV=test), and scripts/master-key.sh — what scripts/run.sh uses — makes a
 * random local key once, readable only by its owner, outside the repository, and reuses it.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const run = promisify(execFile);

/** Starts a package's main from source with only the given variables; resolves with its exit and output. */
function startMain(pkg: 'api' | 'worker', env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=@dbconn/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: join(ROOT, 'packages', pkg),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, output })),
  );
}

describe('the master key', () => {
  it.each(['api', 'worker'] as const)(
    'the %s refuses to start without MASTER_KEYS, saying how to get one',
    async (pkg) => {
      for (const NODE_ENV of ['development', 'production']) {
        const { code, output } = await startMain(pkg, {
          NODE_ENV,
          STORE_URL: 'postgres://postgres@127.0.0.1:5432/test',
          API_PORT: '0',
          WORKER_HEALTH_PORT: '0',
        });
        expect(code).toBe(1);
        expect(output).toMatch(/MASTER_KEYS: required/);
        expect(output).toContain('scripts/run.sh');
      }
    },
  );

  describe('scripts/master-key.sh', () => {
    let home: string;
    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'dbconn-key-'));
    });
    afterAll(async () => {
      await rm(home, { recursive: true, force: true });
    });
    const makeKey = () =>
      run(join(ROOT, 'scripts/master-key.sh'), [], { env: { PATH: process.env.PATH ?? '', HOME: home } });

    it('makes a random key once, mode 0600, outside the repository, says where, and reuses it', async () => {
      const first = await makeKey();
      const file = join(home, '.config/dbconn/master.key');
      expect(first.stderr).toContain(`generated a local master key in ${file}`);
      expect(file.startsWith(ROOT)).toBe(false);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // A key the service accepts, and not the test key: it seals for real.
      const config = loadConfig({ NODE_ENV: 'production', MASTER_KEYS: first.stdout });
      expect(config.secrets.usingTestKey).toBe(false);
      expect(config.secrets.keys.get(1)).toHaveLength(32);

      const second = await makeKey();
      expect(second.stdout).toBe(first.stdout);
      expect(second.stderr).toContain(`using the local master key in ${file}`);
    });

    it('makes a different key on another machine (another home)', async () => {
      const elsewhere = await mkdtemp(join(tmpdir(), 'dbconn-key-'));
      try {
        const other = await run(join(ROOT, 'scripts/master-key.sh'), [], {
          env: { PATH: process.env.PATH ?? '', HOME: elsewhere },
        });
        expect(other.stdout).not.toBe((await makeKey()).stdout);
      } finally {
        await rm(elsewhere, { recursive: true, force: true });
      }
    });
  });
});
