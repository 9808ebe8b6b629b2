/**
 * An internal TypeScript app talking to the service through tRPC with full types.
 *
 *   API_URL=http://localhost:8080 pnpm --filter @dbconn/api example
 *
 * Only the router *type* is imported from the API package: nothing of the server is bundled.
 */
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../src/router.js';

export function connect(url: string) {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${url}/trpc` })] });
}

async function main() {
  const api = connect(process.env.API_URL ?? 'http://localhost:8080');
  const created = await api.connections.create.mutate({
    configName: `example-${Date.now()}`,
    productName: 'my-product',
    type: 'POSTGRESQL',
    host: 'db.example.com',
    port: 5432,
    databaseName: 'mydatabase',
    userName: 'dbuser',
    password: 'secretpassword',
    metadata: { team: 'data-engineering' },
  });
  // `created` is typed: status is 'pending' | 'verifying' | 'active' | 'failed'.
  console.log('created', created.id, created.status);

  const read = await api.connections.get.query({ id: created.id });
  console.log('read', read.configName, read.type, read.version);

  try {
    await api.connections.create.mutate({
      ...created,
      password: 'x',
      configName: created.configName.toUpperCase(),
    } as never);
  } catch (err) {
    if (err instanceof TRPCClientError) console.log('as expected:', err.data?.code, err.message);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
