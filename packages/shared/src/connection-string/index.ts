export {
  CONNECTION_STRING_MAX_LENGTH,
  ConnectionStringError,
  type ConnectionStringFields,
} from './common.js';
export * from './expand.js';
export { MONGODB_SRV_METADATA_KEY } from './mongodb.js';
export { parseConnectionString } from './parse.js';
export * from './url.js';
