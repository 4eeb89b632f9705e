/**
 * Farm credentials on disk: one nkey seed per role (`<dir>/<role>.nk`, mode 0600, folder 0700)
 * and the nats-server auth file rendered from their public keys. `tessera start` and the test
 * servers generate them; deploy mounts them as secrets and sets `NATS_NKEY_FILE`.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { FARM_ROLES, renderAuthConfig, type FarmRole } from './auth.js';
import { NatsSetupError } from './errors.js';

export interface RoleCredential {
  role: FarmRole;
  /** The seed file a process of this role points `NATS_NKEY_FILE` at. */
  seedFile: string;
  /** The user's public key (`U…`), what the server config lists. */
  publicKey: string;
}

export type FarmCredentials = Record<FarmRole, RoleCredential>;

/** Reads an nkey seed file (`SU…`, surrounding whitespace ignored) and checks it is a user seed. */
export async function readNkeySeed(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (cause) {
    throw new NatsSetupError(`cannot read the NATS nkey seed file ${file}`, { file }, { cause });
  }
  const seed = new TextEncoder().encode(text);
  try {
    if (!fromSeed(seed).getPublicKey().startsWith('U')) throw new Error('not a user seed');
  } catch (cause) {
    throw new NatsSetupError(`${file} does not hold an nkey user seed (SU…)`, { file }, { cause });
  }
  return seed;
}

async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

async function loadOrCreate(dir: string, role: FarmRole, regenerate: boolean): Promise<RoleCredential> {
  const seedFile = path.join(dir, `${role}.nk`);
  if (!regenerate) {
    try {
      const seed = await readNkeySeed(seedFile);
      await chmod(seedFile, 0o600);
      return { role, seedFile, publicKey: fromSeed(seed).getPublicKey() };
    } catch (e) {
      // A missing file is created below; a damaged one is an error for the operator to look at.
      if (!(e instanceof NatsSetupError) || (e.cause as NodeJS.ErrnoException)?.code !== 'ENOENT') throw e;
    }
  }
  const kp = createUser();
  await writePrivate(seedFile, `${new TextDecoder().decode(kp.getSeed())}\n`);
  return { role, seedFile, publicKey: kp.getPublicKey() };
}

/**
 * Makes sure every role has a seed under `dir` (created once, kept afterwards) and returns them.
 * `regenerate: true` replaces all of them (credential rotation).
 */
export async function ensureCredentials(
  dir: string,
  options: { regenerate?: boolean } = {},
): Promise<FarmCredentials> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const out: Partial<FarmCredentials> = {};
  for (const role of FARM_ROLES) out[role] = await loadOrCreate(dir, role, options.regenerate ?? false);
  return out as FarmCredentials;
}

/** Writes the nats-server auth block for `credentials` to `file` (mode 0600); returns the file. */
export async function writeAuthConfig(file: string, credentials: FarmCredentials): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const users = FARM_ROLES.map((role) => ({ role, nkey: credentials[role].publicKey }));
  await writePrivate(file, renderAuthConfig(users));
  return file;
}
