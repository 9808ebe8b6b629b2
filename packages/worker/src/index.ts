export * from './processors/index.js';
export * from './sweeper.js';
export * from './worker.js';
