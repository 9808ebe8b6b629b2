import {
  AppError,
  type Config,
  type ConnectionRecord,
  type ConnectionStore,
  type CreateWebhookInput,
  type DeliverWebhookJob,
  emitWebhookEvent,
  type Keyring,
  newWebhookSecret,
  openWebhookSecrets,
  type Queue,
  SECRET_OVERLAP_MS,
  sealWebhookSecrets,
  type UpdateWebhookInput,
  uuidv7,
  type Webhook,
  type WebhookChanges,
  type WebhookDelivery,
  type WebhookRecord,
  type WebhookWithSecret,
} from '@dbconn/shared';
import type { RequestContext } from '../context.js';
import type { HistoryService } from './history.service.js';

export interface WebhookServiceDeps {
  store: ConnectionStore;
  keyring: Keyring;
  /** Deliveries are only enqueued here: the worker dials (docs/contract.md §11). */
  queue: Queue<DeliverWebhookJob>;
  policy: Pick<Config['webhooks'], 'retryBaseMs' | 'retryWindowMs'>;
  history: HistoryService;
}

/**
 * Webhook endpoints of an organization (docs/contract.md §11): CRUD, secret rotation, delivery
 * attempts, and the events of changes made through the API (connection.updated, connection.deleted).
 */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async create(ctx: RequestContext, input: CreateWebhookInput): Promise<WebhookWithSecret> {
    const id = uuidv7();
    const now = new Date();
    const secret = newWebhookSecret();
    const record: WebhookRecord = {
      id,
      organizationId: ctx.organizationId,
      url: input.url,
      events: input.events,
      productName: input.productName,
      sealedSecrets: sealWebhookSecrets(
        this.deps.keyring,
        { organizationId: ctx.organizationId, id },
        { current: secret },
      ),
      enabled: true,
      failureStreak: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.store.insertWebhook(record);
    ctx.log.info({ webhookId: id, events: input.events }, 'webhook created');
    return { ...toWebhook(record), secret };
  }

  async list(ctx: RequestContext): Promise<{ items: Webhook[] }> {
    return { items: (await this.deps.store.listWebhooks(ctx.organizationId)).map(toWebhook) };
  }

  async get(ctx: RequestContext, id: string): Promise<Webhook> {
    return toWebhook(await this.find(ctx, id));
  }

  async update(ctx: RequestContext, id: string, input: UpdateWebhookInput): Promise<Webhook> {
    const changes: WebhookChanges = {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: input.events } : {}),
      ...(input.productName !== undefined ? { productName: input.productName } : {}),
      // Turned on again: a fresh start; turned off by hand: no automatic reason to show.
      ...(input.enabled !== undefined
        ? { enabled: input.enabled, failureStreak: 0, disabledReason: null }
        : {}),
    };
    const updated = await this.deps.store.updateWebhook(ctx.organizationId, id, changes);
    if (!updated) throw notFound(id);
    return toWebhook(updated);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    if (!(await this.deps.store.deleteWebhook(ctx.organizationId, id))) throw notFound(id);
    ctx.log.info({ webhookId: id }, 'webhook deleted');
  }

  /** A new secret, shown once; the previous one keeps signing beside it for 24 h. */
  async rotateSecret(ctx: RequestContext, id: string): Promise<WebhookWithSecret> {
    const hook = await this.find(ctx, id);
    const previous = openWebhookSecrets(this.deps.keyring, hook).current;
    const secret = newWebhookSecret();
    const now = new Date();
    const updated = await this.deps.store.updateWebhook(ctx.organizationId, id, {
      sealedSecrets: sealWebhookSecrets(this.deps.keyring, hook, {
        current: secret,
        previous,
        previousUntil: new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString(),
      }),
      secretRotatedAt: now,
    });
    if (!updated) throw notFound(id);
    ctx.log.info({ webhookId: id }, 'webhook secret rotated');
    return { ...toWebhook(updated), secret };
  }

  async deliveries(ctx: RequestContext, id: string, limit: number): Promise<{ items: WebhookDelivery[] }> {
    await this.find(ctx, id);
    const items = await this.deps.store.listDeliveries(ctx.organizationId, id, limit);
    return {
      items: items.map(({ organizationId: _o, webhookId: _w, at, ...rest }) => ({
        ...rest,
        at: at.toISOString(),
      })),
    };
  }

  /** connection.updated / connection.deleted after a change through the API; failures are logged. */
  async emitChange(
    ctx: RequestContext,
    record: ConnectionRecord,
    change: 'updated' | 'deleted',
  ): Promise<void> {
    try {
      await emitWebhookEvent(
        { store: this.deps.store, queue: this.deps.queue, policy: this.deps.policy },
        record.organizationId,
        change === 'updated' ? 'connection.updated' : 'connection.deleted',
        // Presented (a store read) only when an endpoint wants the event.
        {
          productName: record.productName,
          build: async () => ({ connection: await this.deps.history.presentOne(record) }),
        },
      );
    } catch (err) {
      ctx.log.warn({ err, connectionId: record.id, change }, 'could not enqueue webhook deliveries');
    }
  }

  private async find(ctx: RequestContext, id: string): Promise<WebhookRecord> {
    const hook = await this.deps.store.findWebhook(ctx.organizationId, id);
    if (!hook) throw notFound(id);
    return hook;
  }
}

/** The public resource: never a secret, sealed or not. */
export function toWebhook(record: WebhookRecord): Webhook {
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    ...(record.productName ? { productName: record.productName } : {}),
    enabled: record.enabled,
    ...(record.disabledReason ? { disabledReason: record.disabledReason } : {}),
    failureStreak: record.failureStreak,
    ...(record.secretRotatedAt ? { secretRotatedAt: record.secretRotatedAt.toISOString() } : {}),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

const notFound = (id: string) => new AppError('NOT_FOUND', `webhook ${id} was not found`);
