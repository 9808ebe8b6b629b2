export * from './ops/sweeper.js';
export * from './processors/index.js';
export * from './worker.js';
