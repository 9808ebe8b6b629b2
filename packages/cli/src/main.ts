import { TRPCClientError } from '@trpc/client';
import { Command, CommanderError, Option } from 'commander';
import { type Api, connectApi } from './client.js';
import { type CliConfig, type CliEnvironment, loadConfig, readEnvironment, saveConfig } from './config.js';
import { LiveStages, type Outcome, printOutcome } from './live-stages.js';
import { Output } from './output.js';

/** Exit codes (docs/contract.md §12): 0 active/success, 1 failed (or the API refused), 2 usage. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

class UsageError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = ['pending', 'verifying', 'active', 'failed'];

interface Settled {
  status: string;
  verification?: Outcome;
}

/** The connection's id: an id as it is, a name looked up (letter case ignored) page by page. */
async function resolveId(api: Api, ref: string, productName?: string): Promise<string> {
  if (UUID.test(ref)) return ref.toLowerCase();
  for (let page = 1; ; page++) {
    const found = await api.connections.list.query({
      page,
      limit: 100,
      ...(productName ? { productName } : {}),
    });
    const match = found.items.find((c) => c.configName.toLowerCase() === ref.toLowerCase());
    if (match) return match.id;
    if (page * found.limit >= found.total) throw new UsageError(`no connection is named ${ref}`);
  }
}

/**
 * Follows a connection until it settles, showing each stage as the worker finishes it (the watch
 * subscription with `stages`). Stages finished before the stream opened come with the result.
 */
function follow(api: Api, live: LiveStages | undefined, id: string): Promise<Settled> {
  return new Promise((resolve, reject) => {
    live?.begin();
    const subscription = api.connections.watch.subscribe(
      { id, stages: true },
      {
        onData: (event) => {
          if (event.stage) return live?.stage(event.stage);
          if (event.status === 'active' || event.status === 'failed') {
            subscription.unsubscribe();
            live?.finish(event.connection.verification);
            resolve(event.connection as Settled);
          }
        },
        onError: reject,
      },
    );
  });
}

type TestAnswer = Awaited<ReturnType<Api['connections']['testSettings']['mutate']>>;

/**
 * Runs a started trial (try before save), showing each stage as the worker finishes it; resolves
 * with the trial's result.
 */
function watchTrial(api: Api, live: LiveStages | undefined, trialId: string): Promise<TestAnswer> {
  return new Promise((resolve, reject) => {
    live?.begin();
    const subscription = api.connections.watchTrial.subscribe(
      { trialId },
      {
        onData: (update) => {
          if (update.kind === 'stage') return live?.stage(update.stage);
          subscription.unsubscribe();
          if (update.kind === 'result') resolve(update.result);
          else reject(new Error(`${update.error.code}: ${update.error.message}`));
        },
        onError: (error) => {
          subscription.unsubscribe();
          reject(error);
        },
        // A trial runs once. The API sends a trial's own failure as its last update (above); a
        // connection lost mid-stream would make the link reconnect, only to find the trial taken.
        onConnectionStateChange: (state) => {
          if (state.state !== 'connecting' || !state.error) return;
          subscription.unsubscribe();
          reject(state.error);
        },
      },
    );
  });
}

function describeError(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const data = error.data as { code?: string; errors?: { field: string; message: string }[] } | undefined;
    const fields = (data?.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('');
    return `${data?.code ?? 'ERROR'}: ${error.message}${fields}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export async function run(argv: string[], environment: CliEnvironment = readEnvironment()): Promise<number> {
  const output = new Output(process.stdout, process.stderr, { noColor: environment.noColor });
  let code: number = EXIT.ok;
  const api = async (): Promise<Api> => {
    const config = await loadConfig(environment);
    if (!config) throw new UsageError('not logged in: run dbconn login --url <api>');
    return connectApi(config);
  };

  const program = new Command('dbconn')
    .description('Register and verify database connections (the dbconn API on its typed tRPC client)')
    .option('--json', 'print JSON for scripts')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const json = () => program.opts<{ json?: boolean }>().json === true;

  program
    .command('login')
    .description('remember the API (and a token) in ~/.config/dbconn/cli.json')
    .requiredOption('--url <api>', 'the API, e.g. http://localhost:8080')
    .option('--token <jwt>', 'a bearer token, when the API runs with auth')
    .action(async (options: { url: string; token?: string }) => {
      let url: URL;
      try {
        url = new URL(options.url);
      } catch {
        throw new UsageError('--url must be a URL, e.g. http://localhost:8080');
      }
      const config: CliConfig = {
        url: url.href.replace(/\/+$/, ''),
        ...(options.token ? { token: options.token } : {}),
      };
      // Proves the URL and the token before keeping them.
      await connectApi(config).connections.list.query({ limit: 1 });
      const path = await saveConfig(environment, config);
      if (json()) output.json({ url: config.url, path });
      else output.line(`logged in to ${config.url} (saved in ${path})`);
    });

  program
    .command('ls')
    .description('list connections')
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--product <name>', 'only this product')
    .action(async (options: { status?: 'pending' | 'verifying' | 'active' | 'failed'; product?: string }) => {
      const page = await (await api()).connections.list.query({
        limit: 100,
        ...(options.status ? { status: options.status } : {}),
        ...(options.product ? { productName: options.product } : {}),
      });
      if (json()) return output.json(page);
      for (const c of page.items)
        output.line(
          `${c.id}  ${c.status.padEnd(9)} ${c.type.padEnd(10)} ${c.configName}  ${c.connectionUrl}`,
        );
      if (page.total > page.items.length) output.line(`(${page.items.length} of ${page.total})`);
    });

  program
    .command('add')
    .description('register a connection from a connection string')
    .argument('<connection-string>')
    .requiredOption('--name <name>', 'its configName')
    .requiredOption('--product <name>', 'the product it belongs to')
    .option('--wait', 'follow the verification stage by stage; exit 1 when it fails')
    .action(async (connectionString: string, options: { name: string; product: string; wait?: boolean }) => {
      const client = await api();
      const created = await client.connections.create.mutate({
        configName: options.name,
        productName: options.product,
        connectionString,
      });
      if (!options.wait) {
        if (json()) return output.json(created);
        return output.line(`${created.id}  ${created.status}  ${created.connectionUrl}`);
      }
      if (!json()) output.line(`${created.id}  ${created.connectionUrl}`);
      const settled = await follow(client, json() ? undefined : new LiveStages(output), created.id);
      if (json()) output.json(await client.connections.get.query({ id: created.id }));
      else output.line(settled.status);
      code = settled.status === 'active' ? EXIT.ok : EXIT.failed;
    });

  /** The answer of a test or a trial; stages already shown live are not printed again. */
  const printTest = (result: TestAnswer, live: LiveStages = new LiveStages(output)) => {
    if (json()) output.json(result);
    else {
      live.finish(result);
      output.line(`${result.status} in ${result.latencyMs} ms`);
    }
    code = result.status === 'success' ? EXIT.ok : EXIT.failed;
  };

  program
    .command('test')
    .description('verify a stored connection now')
    .argument('<name-or-id>')
    .action(async (ref: string) => {
      const client = await api();
      const id = await resolveId(client, ref);
      if (json()) return printTest(await client.connections.test.mutate({ id }));
      // Stages live: the watch (with `next`, so a settled connection is followed into this test)
      // is open before the test starts; what it has not shown by the answer comes with the answer.
      const live = new LiveStages(output);
      let opened: () => void = () => {};
      const listening = new Promise<void>((resolve) => {
        opened = resolve;
      });
      const subscription = client.connections.watch.subscribe(
        { id, stages: true, next: true },
        {
          onData: (event) => {
            opened();
            if (event.stage) live.stage(event.stage);
          },
          onError: () => opened(),
        },
      );
      try {
        await listening;
        live.begin();
        printTest(await client.connections.test.mutate({ id }), live);
      } finally {
        subscription.unsubscribe();
      }
    });

  program
    .command('try')
    .description('try a connection string without storing it, stage by stage')
    .argument('<connection-string>')
    .action(async (connectionString: string) => {
      const client = await api();
      // The string goes in the body of a mutation; the stream that follows carries only the id.
      const { trialId } = await client.connections.startTrial.mutate({ connectionString });
      const live = json() ? undefined : new LiveStages(output);
      printTest(await watchTrial(client, live, trialId), live);
    });

  program
    .command('show')
    .description('one connection')
    .argument('<name-or-id>')
    .action(async (ref: string) => {
      const client = await api();
      const connection = await client.connections.get.query({ id: await resolveId(client, ref) });
      if (json()) return output.json(connection);
      output.line(`${connection.configName} (${connection.id})`);
      output.line(`  ${connection.connectionUrl}`);
      output.line(`  status ${connection.status}, version ${connection.version}`);
      printOutcome(output, connection.verification, new Set());
    });

  program
    .command('history')
    .description('what was done to a connection and what each verification found, newest first')
    .argument('<name-or-id>')
    .action(async (ref: string) => {
      const client = await api();
      const page = await client.connections.history.query({ id: await resolveId(client, ref) });
      if (json()) return output.json(page);
      for (const entry of page.items) {
        if (entry.kind === 'change')
          output.line(`${entry.at}  ${entry.action}${entry.fields ? ` ${entry.fields.join(', ')}` : ''}`);
        else
          output.line(
            `${entry.at}  verification ${entry.status}${entry.code ? ` ${entry.code}` : ''} (${entry.reason}, ${entry.latencyMs} ms)`,
          );
      }
    });

  program
    .command('rm')
    .description('delete a connection')
    .argument('<name-or-id>')
    .action(async (ref: string) => {
      const client = await api();
      const id = await resolveId(client, ref);
      await client.connections.delete.mutate({ id });
      if (json()) output.json({ id, deleted: true });
      else output.line(`deleted ${id}`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      output.error(error.message);
      return EXIT.usage;
    }
    output.error(describeError(error));
    return EXIT.failed;
  }
}
