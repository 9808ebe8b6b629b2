import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@dbconn/worker/test-fixtures';

/** packages/api: tsx is its dev dependency, so `--import tsx` resolves from there. */
const API_DIR = fileURLToPath(new URL('../../', import.meta.url));

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote (stdout and stderr), one entry per chunk. */
  output: string[];
  /** SIGKILL: the process dies mid-request, as on an OOM kill or a lost node. */
  kill(): Promise<void>;
}

/**
 * Runs the real API (`packages/api/src/main.ts`) as a child process from the TypeScript source, on
 * 127.0.0.1 and a free port, with only the variables it is given (plus PATH/HOME/TMPDIR): given the
 * harness's `h.env`, it shares the harness's store schema and queue prefix. Resolves once /health answers.
 */
export async function startApiProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<ApiProcess> {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=@dbconn/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: API_DIR,
    env: { ...base, ...env, API_HOST: '127.0.0.1', API_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api: ApiProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const healthy = await fetch(`${api.url}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (healthy) return api;
    if (child.exitCode !== null || Date.now() > deadline) {
      await api.kill();
      throw new Error(`the API did not start:\n${output.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
