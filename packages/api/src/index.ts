export { type AppDeps, BODY_LIMIT_BYTES, buildServer } from './app.js';
export { type AppRouter, appRouter } from './router.js';
