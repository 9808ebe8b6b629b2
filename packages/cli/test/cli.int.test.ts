import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PostgresFixture, startPostgres } from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerProcess, type WorkerProcess } from '../../api/test/e2e/worker-process.js';
import { type Harness, startApi } from '../../api/test/harness.js';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Runs `dbconn <args>` as a subprocess (from the TypeScript source), as a user would. */
function dbconn(
  configHome: string,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@dbconn/source', '--import', 'tsx', 'src/bin.ts', ...args],
      {
        cwd: CLI_DIR,
        env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The command line against a real API and a real worker process (docs/contract.md §12): the local
 * PostgreSQL (trust) for a connection that works, a dedicated one with SCRAM passwords for one
 * that does not.
 */
describe('dbconn (subprocess, real API + worker)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let scram: PostgresFixture;
  let home: string;
  const run = (...args: string[]) => dbconn(home, ...args);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'dbconn-cli-'));
    h = await startApi({ VERIFY_ATTEMPTS: '1', VERIFY_STAGE_TIMEOUT_MS: '3000', VERIFY_TIMEOUT_MS: '10000' });
    worker = await startWorkerProcess(h.env);
    scram = await startPostgres({ hba: ['host all all 127.0.0.1/32 scram-sha-256'] });
    await scram.admin(`CREATE ROLE reporter LOGIN PASSWORD 'right-password'`);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await scram?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('logs in and keeps its config readable by the user only', async () => {
    const login = await run('login', '--url', h.url);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    const mode = (await stat(join(home, 'dbconn', 'cli.json'))).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('add --wait on a reachable PostgreSQL prints every stage and exits 0', async () => {
    const add = await run(
      'add',
      'postgresql://postgres:anything@127.0.0.1:5432/test?sslmode=disable',
      '--name',
      'cli-local',
      '--product',
      'cli',
      '--wait',
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    for (const line of [
      /✓ dns \d+ ms/,
      /✓ tcp \d+ ms/,
      /- tls skipped/,
      /✓ auth \d+ ms/,
      /✓ database \d+ ms/,
      /✓ schema \d+ ms/,
    ])
      expect(add.stdout).toMatch(line);
    expect(add.stdout).toMatch(/\nactive\n/);
    expect(add.stdout).not.toContain('anything');
    // Not a terminal: no colour, no spinner.
    expect(add.stdout).not.toContain('\u001b[');
  });

  it('add --wait with a wrong password exits 1 naming AUTH_FAILED', async () => {
    const add = await run(
      'add',
      `postgresql://reporter:wrong-password@127.0.0.1:${scram.port}/postgres?sslmode=disable`,
      '--name',
      'cli-wrong',
      '--product',
      'cli',
      '--wait',
    );
    expect(add.code).toBe(1);
    expect(add.stdout).toMatch(/✗ auth AUTH_FAILED/);
    expect(add.stdout).toMatch(/\nfailed\n/);
    expect(add.stdout + add.stderr).not.toContain('wrong-password');
  });

  it('--json prints JSON that parses, for ls, show and try', async () => {
    const ls = await run('--json', 'ls', '--product', 'cli');
    expect(ls.code).toBe(0);
    const page = JSON.parse(ls.stdout);
    expect(page.items.map((c: { configName: string }) => c.configName).sort()).toEqual([
      'cli-local',
      'cli-wrong',
    ]);
    const failedOnly = JSON.parse((await run('--json', 'ls', '--status', 'failed')).stdout);
    expect(failedOnly.items.map((c: { configName: string }) => c.configName)).toEqual(['cli-wrong']);

    const show = await run('--json', 'show', 'CLI-LOCAL');
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ configName: 'cli-local', status: 'active' });

    const tried = await run(
      '--json',
      'try',
      `postgresql://reporter:right-password@127.0.0.1:${scram.port}/postgres`,
    );
    expect(tried.code).toBe(0);
    expect(JSON.parse(tried.stdout)).toMatchObject({ status: 'success' });
  });

  it('test shows every stage of the new verification and exits 0 when it passes', async () => {
    const test = await run('test', 'cli-local');
    expect(test.stderr).toBe('');
    expect(test.code).toBe(0);
    for (const stage of ['dns', 'tcp', 'auth', 'database', 'schema'])
      expect(test.stdout.match(new RegExp(`✓ ${stage} \\d+ ms`, 'g'))?.length).toBe(1);
    expect(test.stdout).toMatch(/success in \d+ ms/);
  });

  it('try on a reachable PostgreSQL prints every stage as it finishes, then the success, and exits 0', async () => {
    const tried = await run('try', 'postgresql://postgres:anything@127.0.0.1:5432/test?sslmode=disable');
    expect(tried.stderr).toBe('');
    expect(tried.code).toBe(0);
    const lines = tried.stdout.split('\n').filter(Boolean);
    expect(lines.slice(0, 6)).toEqual([
      expect.stringMatching(/^✓ dns \d+ ms$/),
      expect.stringMatching(/^✓ tcp \d+ ms$/),
      '- tls skipped',
      expect.stringMatching(/^✓ auth \d+ ms$/),
      expect.stringMatching(/^✓ database \d+ ms$/),
      expect.stringMatching(/^✓ schema \d+ ms$/),
    ]);
    // The superuser on an empty schema passes with warnings, then the success.
    expect(lines.slice(6, -1).every((line) => line.startsWith('! '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^success in \d+ ms$/);
    expect(tried.stdout).not.toContain('anything');
  });

  it('try with a wrong password exits 1 naming AUTH_FAILED, with the hint', async () => {
    const tried = await run('try', `postgresql://reporter:wrong-password@127.0.0.1:${scram.port}/postgres`);
    expect(tried.code).toBe(1);
    const lines = tried.stdout.split('\n').filter(Boolean);
    expect(lines.slice(0, 6)).toEqual([
      expect.stringMatching(/^✓ dns \d+ ms$/),
      expect.stringMatching(/^✓ tcp \d+ ms$/),
      expect.stringMatching(/^(✓ tls \d+ ms|- tls skipped.*)$/),
      '✗ auth AUTH_FAILED',
      '- database skipped',
      '- schema skipped',
    ]);
    // Then the message and the hint (indented), and the failure.
    expect(lines.slice(6, -1).length).toBeGreaterThan(0);
    expect(lines.slice(6, -1).every((line) => line.startsWith('  '))).toBe(true);
    expect(lines.at(-1)).toMatch(/^failure in \d+ ms$/);
    expect(tried.stdout + tried.stderr).not.toContain('wrong-password');
  });

  it('test, history and rm work by name; exit 1 for a failing test', async () => {
    const test = await run('test', 'cli-wrong');
    expect(test.code).toBe(1);
    expect(test.stdout).toMatch(/✗ auth AUTH_FAILED/);
    const history = await run('history', 'cli-local');
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/created/);
    expect(history.stdout).toMatch(/verification active/);
    expect((await run('rm', 'cli-wrong')).code).toBe(0);
    expect((await run('show', 'cli-wrong')).code).toBe(2);
  });

  it('exits 2 on a usage error', async () => {
    expect((await run('add', 'postgresql://u:p@h/db')).code).toBe(2);
    expect((await run('ls', '--status', 'maybe')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
  });
});
