import {
  type Config,
  ConfigError,
  createLogger,
  createStore,
  type Logger,
  loadConfig,
  resealAll,
} from '@dbconn/shared';
import { pino } from 'pino';

/**
 * Key rotation (docs/contract.md §8): re-seals every live connection's secrets and every live webhook's
 * signing secrets under the newest version in MASTER_KEYS, then prints the report as JSON on stdout
 * (logs go to stderr, so the output pipes into `jq`). Exits 0 when every record opened, 1 when any
 * did not (their ids are in the log) or the run could not finish. Safe to run while the API and workers run, and to run again.
 *
 *   pnpm --filter @dbconn/worker reseal      (or, in the image: node packages/worker/dist/reseal.js)
 */
async function main(config: Config, log: Logger): Promise<number> {
  if (config.secrets.usingTestKey) {
    log.warn(
      'MASTER_KEYS is not set (NODE_ENV=test): only the built-in test key is configured, nothing to rotate',
    );
  }
  const store = await createStore(config.store.url, config.store);
  try {
    await store.init();
    const report = await resealAll(store, { keys: config.secrets.keys }, log);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.connections.failed + report.webhooks.failed > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
// Synchronous stderr: every line is out before process.exit.
const log = createLogger(
  { level: config.log.level, name: 'reseal' },
  pino.destination({ dest: 2, sync: true }),
);
main(config, log).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log.fatal({ err }, 're-sealing failed');
    process.exit(1);
  },
);
