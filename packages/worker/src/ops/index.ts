export * from './metrics.js';
export * from './ops-server.js';
export * from './priority.js';
export * from './reverify.js';
export * from './schedules.js';
