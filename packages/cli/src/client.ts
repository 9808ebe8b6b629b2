import type { AppRouter } from '@dbconn/api/router';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { CliConfig } from './config.js';

export type Api = TRPCClient<AppRouter>;

/** The typed tRPC client of the API (only the router's type comes from the API package). */
export function connectApi(config: CliConfig): Api {
  const authorization = config.token ? { authorization: `Bearer ${config.token}` } : {};
  const url = `${config.url.replace(/\/+$/, '')}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Node 20 has no global EventSource; an EventSource cannot set headers, so the token goes
        // in tRPC's connection params.
        true: httpSubscriptionLink({ url, EventSource, connectionParams: () => authorization }),
        false: httpLink({ url, headers: () => authorization }),
      }),
    ],
  });
}
