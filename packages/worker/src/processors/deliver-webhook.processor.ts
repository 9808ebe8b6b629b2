import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  type Config,
  type ConnectionStore,
  compileEgressPolicy,
  DeliverWebhookJobSchema,
  type EgressPolicy,
  type Keyring,
  type Logger,
  openWebhookSecrets,
  SPAN_ATTRIBUTES,
  signingSecrets,
  uuidv7,
} from '@dbconn/shared';
import { trace } from '@opentelemetry/api';
import { type Job, UnrecoverableError } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { StageFailure } from '../failures/stage-failure.js';
import { resolveAllowed } from '../verify/network.js';
import type { DialEnvironment } from './verify-connection.processor.js';

export interface DeliverWebhookDeps {
  store: ConnectionStore;
  keyring: Keyring;
  config: Pick<Config, 'webhooks' | 'egress'>;
  log: Logger;
  dialEnvironment?: DialEnvironment;
}

/** What a finished delivery job leaves in Redis: the outcome, never the body or a secret. */
export interface DeliverWebhookResult {
  status: 'delivered' | 'failed' | 'skipped';
  attempt: number;
  statusCode?: number | undefined;
}

/** Thrown to make BullMQ retry (with the exponential backoff chosen at enqueue). */
export class WebhookAttemptFailed extends Error {
  override name = 'WebhookAttemptFailed';
}

/** An answer is read only this far: a receiver gains nothing by sending more. */
const MAX_ANSWER_BYTES = 64 * 1024;

interface AttemptOutcome {
  statusCode?: number;
  error?: string;
  /** A refusal that the next attempt would repeat: no retry. */
  permanent?: boolean;
}

/**
 * Delivers one event to one endpoint (docs/contract.md §11), from the worker only: the URL's host is
 * resolved once, every address is checked by the egress policy (and against the service's own
 * endpoints), and the request goes to the checked address (no DNS-rebinding window), with the
 * Standard Webhooks headers signed by every secret that signs now. Every attempt is recorded;
 * a failed one is retried by BullMQ until the attempts run out.
 */
export function createDeliverWebhookProcessor(deps: DeliverWebhookDeps) {
  const policy = compileEgressPolicy(deps.config.egress);
  return async (job: Job<unknown, unknown>): Promise<DeliverWebhookResult> => {
    const parsed = DeliverWebhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid deliver-webhook payload');
    const { organizationId, webhookId, messageId, event, payload } = parsed.data;
    const attempt = job.attemptsMade + 1;
    const log = deps.log.child({ jobId: job.id, webhookId, organizationId, messageId, attempt });
    const hook = await deps.store.findWebhook(organizationId, webhookId);
    if (!hook?.enabled) {
      log.info('webhook deleted or turned off; nothing delivered');
      return { status: 'skipped', attempt };
    }
    const body = JSON.stringify(payload);
    const now = new Date();
    const signature = signingSecrets(openWebhookSecrets(deps.keyring, hook), now)
      .map((secret) => new Webhook(secret).sign(messageId, now, body))
      .join(' ');
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'dbconn-webhooks',
      'webhook-id': messageId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    };
    const started = performance.now();
    const outcome = await post(hook.url, headers, body, {
      policy,
      organizationId,
      timeoutMs: deps.config.webhooks.timeoutMs,
      log,
      ...(deps.dialEnvironment ?? {}),
    });
    const delivered =
      outcome.statusCode !== undefined && outcome.statusCode >= 200 && outcome.statusCode < 300;
    // The job's `process` span (while tracing runs): which endpoint and event, and how it went; never the URL.
    trace.getActiveSpan()?.setAttributes({
      [SPAN_ATTRIBUTES.organizationId]: organizationId,
      'dbconn.webhook_id': webhookId,
      'dbconn.webhook_event': event,
      [SPAN_ATTRIBUTES.outcome]: delivered ? 'delivered' : 'failed',
      ...(outcome.statusCode !== undefined ? { 'http.response.status_code': outcome.statusCode } : {}),
    });
    await deps.store.recordDeliveryAttempt(
      {
        id: uuidv7(),
        organizationId,
        webhookId,
        messageId,
        event,
        attempt,
        at: new Date(),
        outcome: delivered ? 'delivered' : 'failed',
        ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
        latencyMs: Math.round(performance.now() - started),
        ...(outcome.error ? { error: outcome.error } : {}),
      },
      deps.config.webhooks.disableAfterFailures,
    );
    if (delivered) {
      log.info({ statusCode: outcome.statusCode }, 'webhook delivered');
      return { status: 'delivered', attempt, statusCode: outcome.statusCode };
    }
    const reason = outcome.error ?? `answered ${outcome.statusCode}`;
    if (outcome.permanent) throw new UnrecoverableError(`webhook not delivered: ${reason}`);
    if (attempt < (job.opts.attempts ?? 1))
      throw new WebhookAttemptFailed(`webhook not delivered: ${reason}; will retry`);
    log.warn(
      { statusCode: outcome.statusCode, error: outcome.error },
      'webhook not delivered; no attempts left',
    );
    return { status: 'failed', attempt, statusCode: outcome.statusCode };
  };
}

/** POSTs to the checked address of the URL's host; never throws, never follows a redirect. */
async function post(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: DialEnvironment & {
    policy: EgressPolicy;
    organizationId: string;
    timeoutMs: number;
    log: Logger;
  },
): Promise<AttemptOutcome> {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let address: string;
  try {
    const addresses = await resolveAllowed(host, options.policy, {
      organizationId: options.organizationId,
      log: options.log,
      lookup: options.lookup,
      ...(options.selfTargets ? { self: { targets: options.selfTargets, port, database: '' } } : {}),
    });
    address = addresses[0] as string;
  } catch (error) {
    if (error instanceof StageFailure) {
      const permanent = error.code === 'HOST_FORBIDDEN' || error.code === 'SELF_TARGET_FORBIDDEN';
      // The refusal stays generic, as for connections: which rule refused is in the log only.
      return { error: permanent ? 'the address is not allowed' : `dns: ${error.code}`, permanent };
    }
    throw error;
  }
  // Every lookup the socket makes answers the checked address: the request cannot go elsewhere.
  const family = isIP(address);
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all)
      (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<AttemptOutcome>((resolve) => {
    const req = request(
      {
        method: 'POST',
        host,
        port,
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('close', () => resolve({ statusCode: res.statusCode ?? 0 }));
        res.on('error', () => resolve({ statusCode: res.statusCode ?? 0 }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      const timedOut = error.name === 'AbortError' || error.name === 'TimeoutError';
      resolve({
        error: timedOut
          ? `no answer within ${options.timeoutMs} ms`
          : `connection: ${error.code ?? error.name}`,
      });
    });
    req.end(body);
  });
}
