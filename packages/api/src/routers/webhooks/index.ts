import {
  CreateWebhookInputSchema,
  IdSchema,
  UpdateWebhookInputSchema,
  WebhookDeliveriesQuerySchema,
} from '@dbconn/shared';
import { z } from 'zod';
import { authorizedProcedure, router } from '../../trpc/trpc.js';

const WebhookRef = z.strictObject({ id: IdSchema });

/** Webhooks of the caller's organization (docs/contract.md §11): the same service as REST. */
export const webhooksRouter = router({
  create: authorizedProcedure
    .input(CreateWebhookInputSchema)
    .mutation(({ ctx, input }) => ctx.webhooks.create(ctx, input)),
  list: authorizedProcedure.query(({ ctx }) => ctx.webhooks.list(ctx)),
  get: authorizedProcedure.input(WebhookRef).query(({ ctx, input }) => ctx.webhooks.get(ctx, input.id)),
  update: authorizedProcedure
    .input(UpdateWebhookInputSchema.extend({ id: IdSchema }))
    .mutation(({ ctx, input }) => {
      const { id, ...changes } = input;
      return ctx.webhooks.update(ctx, id, changes);
    }),
  delete: authorizedProcedure.input(WebhookRef).mutation(async ({ ctx, input }) => {
    await ctx.webhooks.delete(ctx, input.id);
    return { id: input.id, deleted: true as const };
  }),
  rotateSecret: authorizedProcedure
    .input(WebhookRef)
    .mutation(({ ctx, input }) => ctx.webhooks.rotateSecret(ctx, input.id)),
  deliveries: authorizedProcedure
    .input(WebhookDeliveriesQuerySchema.extend({ id: IdSchema }))
    .query(({ ctx, input }) => ctx.webhooks.deliveries(ctx, input.id, input.limit)),
});
