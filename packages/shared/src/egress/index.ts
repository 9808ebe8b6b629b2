export * from './address.js';
export * from './policy.js';
export * from './self-targets.js';
export * from './target-check.js';
