export * from './ops/sweeper.js';
export { createDeliverWebhookProcessor } from './processors/deliver-webhook.processor.js';
export * from './processors/index.js';
export * from './worker.js';
