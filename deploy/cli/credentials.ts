/**
 * Local credentials for `tessera start` and the CLI: an nkey per role under
 * `<data>/credentials/` (0600, folder 0700), generated on the first start, and the nats-server
 * config that includes the auth block rendered from them (`shared/src/auth.ts`).
 * `tessera credentials` does the same for a deployment (compose, Kubernetes secrets) and rotates.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
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

const USAGE = `usage: tessera credentials [--dir DIR] [--rotate]

Writes an nkey seed per role (admin, bot, renderer, operator, scheduler) to DIR/<role>.nk (mode 0600,
DIR 0700; default DIR .tessera/credentials) and the nats-server auth block to DIR/auth.conf.
Existing seeds are kept; --rotate replaces all of them. Then reload nats-server (SIGHUP) and
restart the processes with the new files (README, Security).
`;

/** `tessera credentials`: generate (or rotate) the role credentials and the server auth file. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: path.join(DEFAULT_DATA_DIR, 'credentials') },
      rotate: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = path.resolve(values.dir);
  const credentials = await ensureCredentials(dir, { regenerate: values.rotate });
  const authFile = await writeAuthConfig(path.join(dir, 'auth.conf'), credentials);
  for (const c of Object.values(credentials))
    process.stdout.write(`${c.role.padEnd(8)} ${c.seedFile}  ${c.publicKey}\n`);
  process.stdout.write(`auth     ${authFile}  (include it from nats-server.conf)\n`);
  return 0;
}
