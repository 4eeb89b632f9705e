/**
 * `tessera scheduler`: one fair-share scheduler instance (active or standby; run two for high
 * availability). SIGTERM/SIGINT hand the lease over cleanly.
 */
import { ConfigError, createLogger, loadConfig } from '../../../shared/src/index.js';
import { startScheduler } from './scheduler-process.js';

const USAGE = `usage: tessera scheduler

Runs a fair-share scheduler: it takes jobs from the intake stream (SCHEDULER=on) and releases them
to the renderers, servers first by weight, then members. Run two for a standby that takes over
within SCHEDULER_LEASE_MS. Configured by environment variables (README, Configuration).
`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`tessera scheduler: unexpected argument '${argv[0]}'\n\n${USAGE}`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera scheduler: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name: 'scheduler' });
  const scheduler = await startScheduler({ config, log });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await scheduler.stop();
  return 0;
}
