import { router } from '../../trpc/trpc.js';
import { assignConnection, listUnassignedConnections } from './assign.procedure.js';
import { createConnection } from './create.procedure.js';
import { deleteConnection } from './delete.procedure.js';
import { getConnection } from './get.procedure.js';
import { connectionHistory } from './history.procedure.js';
import { listConnections } from './list.procedure.js';
import { connectionSchema, validateSchema } from './schema.procedure.js';
import { testConnection, testSettings } from './test.procedure.js';
import { startTrial, watchTrial } from './trial.procedure.js';
import { updateConnection } from './update.procedure.js';
import { watchConnection } from './watch.procedure.js';

export const connectionsRouter = router({
  create: createConnection,
  get: getConnection,
  list: listConnections,
  update: updateConnection,
  delete: deleteConnection,
  listUnassigned: listUnassignedConnections,
  assign: assignConnection,
  test: testConnection,
  testSettings,
  startTrial,
  watchTrial,
  schema: connectionSchema,
  validateSchema,
  watch: watchConnection,
  history: connectionHistory,
});
