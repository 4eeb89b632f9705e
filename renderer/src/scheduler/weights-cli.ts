/**
 * `tessera farm weights [ID:W,…] [--reset]`: shows or sets the operator's fair-share weight per
 * Discord server. What is set here is stored in the scheduler bucket and overrides
 * SCHEDULER_SERVER_WEIGHTS for the servers it names; the active scheduler applies it at its next pick.
 */
import {
  ConfigError,
  ServerWeights,
  connectFromConfig,
  decodeMessage,
  encodeMessage,
  bindFarm,
  farmSettingsFromConfig,
  formatServerWeights,
  loadConfig,
  parseServerWeights,
  serverWeightsKey,
  type Config,
  type Farm,
} from '../../../shared/src/index.js';

const USAGE = `usage: tessera farm weights [ID:WEIGHT,…] [--reset]

Without arguments: the server weights in force (config, then those set here).
ID:WEIGHT,…  sets the weight of each named Discord server (0.01 to 1000; others weigh 1).
--reset      forgets the weights set here (SCHEDULER_SERVER_WEIGHTS stays).
`;

async function stored(farm: Farm): Promise<Record<string, number>> {
  const entry = await farm.scheduler.get(serverWeightsKey());
  if (entry?.operation !== 'PUT') return {};
  const decoded = decodeMessage(ServerWeights, entry.value, { name: 'server weights' });
  return decoded.ok ? decoded.value.weights : {};
}

/** `load` reads the configuration (`tessera farm` passes one that finds the local operator credential). */
export async function runWeights(argv: string[], load: () => Config = loadConfig): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const reset = argv.includes('--reset');
  const rest = argv.filter((a) => a !== '--reset');
  const parsed = parseServerWeights(rest.join(','));
  if (!parsed.ok) {
    process.stderr.write(`tessera farm weights: ${parsed.problem}\n\n${USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = load();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`tessera farm weights: ${e.message}\n`);
    return 2;
  }
  const nc = await connectFromConfig(config, 'tessera-farm-weights', {
    waitOnFirstConnect: false,
    role: 'operator',
  });
  try {
    const farm = await bindFarm(nc, farmSettingsFromConfig(config, []), { schedulerBucket: true });
    if (reset) await farm.scheduler.delete(serverWeightsKey());
    if (Object.keys(parsed.weights).length > 0) {
      const weights = { ...(await stored(farm)), ...parsed.weights };
      const value: ServerWeights = { v: 1, weights, at: new Date().toISOString() };
      await farm.scheduler.put(serverWeightsKey(), encodeMessage(ServerWeights, value));
    }
    const inForce = { ...config.SCHEDULER_SERVER_WEIGHTS, ...(await stored(farm)) };
    const shown = formatServerWeights(inForce);
    process.stdout.write(
      shown === '' ? 'all servers weigh 1\n' : `${shown.replaceAll(',', '\n')}\n(others weigh 1)\n`,
    );
    return 0;
  } finally {
    await nc.close();
  }
}
