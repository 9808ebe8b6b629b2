export * from './expand.js';
export {
  CONNECTION_STRING_MAX_LENGTH,
  ConnectionStringError,
  type ConnectionStringFields,
  MONGODB_SRV_METADATA_KEY,
  parseConnectionString,
} from './parse.js';
export * from './url.js';
