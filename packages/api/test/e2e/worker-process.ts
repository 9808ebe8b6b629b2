import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** packages/worker: tsx is its dev dependency, so `--import tsx` resolves from there. */
const WORKER_DIR = fileURLToPath(new URL('../../../worker/', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** The port of its /health, /ready and /metrics (from its log line). */
  opsPort(): number;
  /** Everything the process wrote (stdout and stderr), one entry per chunk. */
  output: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit; the code tells whether the shutdown was clean. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies mid-job, as on an OOM kill or a lost node. */
  kill(): Promise<void>;
}

/**
 * Runs the real worker (`packages/worker/src/main.ts`) as a child process from the TypeScript
 * source: `node --conditions=@dbconn/source --import tsx src/main.ts`, in packages/worker. It gets only
 * the variables it is given (plus PATH/HOME/TMPDIR), so it shares exactly the API's store schema
 * and queue prefix when given the harness's `h.env`.
 */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn(process.execPath, ['--conditions=@dbconn/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: WORKER_DIR,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    opsPort: () => {
      const match = /"port":(\d+),"msg":"operations server listening/.exec(output.join(''));
      if (!match) throw new Error('the worker has not logged its operations port');
      return Number(match[1]);
    },
    output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Starts the worker and waits until it is wholly up (its "worker ready" log line): both queues
 * consumed, the sweeper running and the operations port listening and logged.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<WorkerProcess> {
  const worker = spawnWorker(env);
  const deadline = Date.now() + timeoutMs;
  while (!worker.output.join('').includes('"msg":"worker ready"')) {
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      await worker.kill();
      throw new Error(`the worker did not start:\n${worker.output.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return worker;
}
