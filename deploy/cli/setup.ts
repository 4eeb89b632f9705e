/**
 * `tessera setup`: the admin step. Creates or updates everything tessera keeps on NATS (jobs and
 * events streams, a jobs consumer per model in FARM_MODELS, the KV buckets, the images object
 * store). Other processes only bind to it. Run it with the admin credential (`NATS_NKEY_FILE`
 * pointing at `admin.nk`) once, and again after changing FARM_MODELS or the job settings.
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  connectFromConfig,
  farmModels,
  farmSettingsFromConfig,
  loadConfig,
  setupFarm,
  type Config,
} from '../../shared/src/index.js';
import { withLocalCredentials } from './credentials.js';

const USAGE = `usage: tessera setup

Creates or updates the farm on NATS_URL with admin credentials (NATS_NKEY_FILE=…/admin.nk):
streams, KV buckets, the images store, and one jobs consumer per model in FARM_MODELS
(comma-separated; default RENDERER_MODEL). Idempotent. A renderer for a model that has no
consumer refuses to start and asks for this.
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = withLocalCredentials(loadConfig(), 'admin');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tessera setup: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const models = farmModels(config);
  let nc;
  try {
    nc = await connectFromConfig(config, 'tessera-setup', { waitOnFirstConnect: false, role: 'admin' });
  } catch (e) {
    process.stderr.write(`tessera setup: cannot reach NATS at ${config.NATS_URL}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    await setupFarm(nc, farmSettingsFromConfig(config, models));
    process.stdout.write(`farm ready on ${config.NATS_URL}: jobs consumers for ${models.join(', ')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`tessera setup: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await nc.close();
  }
}
