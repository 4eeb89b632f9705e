/**
 * Local credentials for `tessera start` and the CLI: an nkey per role under
 * `<data>/credentials/` (0600, folder 0700), generated on the first start, and the nats-server
 * config that includes the auth block rendered from them (`shared/src/auth.ts`).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  connectFromConfig,
  ensureCredentials,
  farmModels,
  farmSettingsFromConfig,
  setupFarm,
  writeAuthConfig,
  type Config,
  type FarmCredentials,
  type FarmRole,
} from '../../shared/src/index.js';

export const DEFAULT_DATA_DIR = '.tessera';

export interface LocalAuth {
  credentials: FarmCredentials;
  /** nats-server config to start with (`-c`): includes the generated auth block. */
  serverConfig: string;
}

/** Whether the environment already names NATS credentials (then tessera does not pick any). */
export function hasExplicitCredentials(config: Config): boolean {
  return [config.NATS_NKEY_FILE, config.NATS_USER, config.NATS_TOKEN].some((v) => v !== undefined);
}

/** Generates (first time) or loads the role credentials under `dataDir` and writes the server config. */
export async function prepareLocalAuth(dataDir: string): Promise<LocalAuth> {
  const credentials = await ensureCredentials(path.join(dataDir, 'credentials'));
  const natsDir = path.join(dataDir, 'nats');
  await writeAuthConfig(path.join(natsDir, 'auth.conf'), credentials);
  const serverConfig = path.join(natsDir, 'nats-server.conf');
  await writeFile(
    serverConfig,
    '# Written by `tessera start`; port, address and store come from the command line.\ninclude "auth.conf"\n',
    { mode: 0o600 },
  );
  return { credentials, serverConfig };
}

/** The environment of a child process playing `role` (its seed file in NATS_NKEY_FILE). */
export function roleEnv(auth: LocalAuth | undefined, role: FarmRole): Record<string, string> {
  return auth ? { NATS_NKEY_FILE: auth.credentials[role].seedFile } : {};
}

/**
 * For `tessera imagine|farm|setup` on the machine where `npm start` runs: with no credentials in
 * the environment, use `<data>/credentials/<role>.nk` when it exists.
 */
export function withLocalCredentials(config: Config, role: FarmRole, dataDir = DEFAULT_DATA_DIR): Config {
  if (hasExplicitCredentials(config)) return config;
  const seedFile = path.resolve(dataDir, 'credentials', `${role}.nk`);
  return existsSync(seedFile) ? { ...config, NATS_NKEY_FILE: seedFile } : config;
}

/** The admin step of `tessera start`: create or update the farm for FARM_MODELS. */
export async function setupLocalFarm(config: Config): Promise<void> {
  const nc = await connectFromConfig(config, 'tessera-setup', { waitOnFirstConnect: false, role: 'admin' });
  try {
    await setupFarm(nc, farmSettingsFromConfig(config, farmModels(config)));
  } finally {
    await nc.close();
  }
}
