/**
 * An internal TypeScript app talking to the service through tRPC with full types.
 *
 *   API_URL=http://localhost:8080 pnpm --filter @dbconn/api example
 *
 * Only the router *type* is imported from the API package: nothing of the server is bundled.
 */
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../src/router.js';

/**
 * A typed client. With auth on, give the bearer token (or a function that returns the current one,
 * for tokens that are refreshed): queries and mutations send it as `Authorization`, subscriptions
 * (an EventSource cannot set headers) in tRPC's connection params.
 */
export function connect(url: string, options: { token?: string | (() => string) } = {}) {
  const token = () => (typeof options.token === 'function' ? options.token() : options.token);
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Server-sent events; Node 20 has no global EventSource, so one is passed in.
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          EventSource,
          connectionParams: () => {
            const current = token();
            return current ? { authorization: `Bearer ${current}` } : {};
          },
        }),
        false: httpLink({
          url: `${url}/trpc`,
          headers: () => {
            const current = token();
            return current ? { authorization: `Bearer ${current}` } : {};
          },
        }),
      }),
    ],
  });
}

export type Client = ReturnType<typeof connect>;
type Watched = Awaited<ReturnType<Client['connections']['get']['query']>>;

/** Resolves with every status the connection went through, once it is active or failed. */
export function waitUntilSettled(api: Client, id: string): Promise<Watched[]> {
  return new Promise((resolve, reject) => {
    const seen: Watched[] = [];
    const subscription = api.connections.watch.subscribe(
      { id },
      {
        onData: (event) => {
          seen.push(event.connection);
          if (event.status === 'active' || event.status === 'failed') {
            subscription.unsubscribe();
            resolve(seen);
          }
        },
        onError: reject,
        onComplete: () => resolve(seen),
      },
    );
  });
}

async function main() {
  // API_TOKEN: a bearer token, when the API runs with auth (README, "Access control").
  const api = connect(process.env.API_URL ?? 'http://localhost:8080', { token: process.env.API_TOKEN });
  const settings = {
    productName: 'my-product',
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: 5432,
    databaseName: 'postgres',
    userName: 'postgres',
    password: 'not-needed-with-trust-auth',
    metadata: { team: 'data-engineering' },
  } as const;
  const created = await api.connections.create.mutate({ ...settings, configName: `example-${Date.now()}` });
  // `created` is typed: status is 'pending' | 'verifying' | 'active' | 'failed'.
  console.log('created', created.id, created.status);

  const history = await waitUntilSettled(api, created.id);
  console.log('statuses seen', history.map((c) => c.status).join(' → '));
  const settled = history.at(-1);
  console.log('verification', settled?.verification?.outcome, settled?.verification?.error?.code ?? '');

  try {
    // Names are unique per organization in any letter case.
    await api.connections.create.mutate({ ...settings, configName: created.configName.toUpperCase() });
  } catch (err) {
    if (err instanceof TRPCClientError) console.log('as expected:', err.data?.code, '-', err.message);
  }
  try {
    await api.connections.create.mutate({ ...settings, configName: 'ab', port: 0 });
  } catch (err) {
    if (err instanceof TRPCClientError) console.log('as expected:', err.data?.code, '-', err.message);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
