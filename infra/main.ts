import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { startExchange } from './exchange.ts';

/** `npm start`: the roles named in KTS_ROLES, in one process; SIGTERM/SIGINT shut down in order. */
async function main() {
  const config = loadConfigOrExit('kts');
  const log = createLogger(config.LOG_LEVEL);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const exchange = await startExchange(config, log);
  log.info({ roles: config.KTS_ROLES, port: config.PORT, pid: process.pid }, 'exchange started');

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // A second signal means "now": in-flight jobs lose their locks and another worker recovers them.
      log.warn({ signal }, 'second signal; exiting at once');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down');
    const hard = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.KTS_SHUTDOWN_TIMEOUT_MS + 10_000);
    hard.unref();
    exchange
      .close()
      .then(({ forced }) => {
        log.info({ forced }, 'shutdown complete');
        process.exit(forced ? 1 : 0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kts: failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
