/**
 * Wires one scheduler instance: NATS (the `scheduler` credential from NATS_NKEY_FILE), the farm an
 * admin set up (`tessera setup`), operator weights (config, overridden by the KV
 * entry `tessera farm weights` writes) and the leadership loop. Every instance runs the loop; the
 * one holding the lease runs an `ActiveScheduler`, the others wait as standbys. Losing the lease
 * (a renewal rejected, or none for two thirds of the lease time) stops releasing at once.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import {
  ServerWeights,
  connectFromConfig,
  decodeMessage,
  bindFarm,
  farmSettingsFromConfig,
  serverWeightsKey,
  type Config,
  type Farm,
} from '../../../shared/src/index.js';
import { ActiveScheduler } from './active-scheduler.js';
import { KvLease } from './lease.js';

export interface SchedulerHandle {
  readonly id: string;
  readonly farm: Farm;
  /** The running active scheduler while this instance leads. */
  active(): ActiveScheduler | undefined;
  /** Resolves when this instance next becomes the leader. */
  leading(): Promise<void>;
  /** Stops releasing, gives the lease up and closes the connection. */
  stop(): Promise<void>;
}

export async function startScheduler(deps: {
  config: Config;
  log: Logger;
  id?: string;
}): Promise<SchedulerHandle> {
  const { config } = deps;
  const id = deps.id ?? `scheduler-${os.hostname()}-${process.pid}`;
  const log = deps.log.child({ schedulerId: id });
  const nc = await connectFromConfig(config, id, { role: 'scheduler' });
  let farm: Farm;
  try {
    farm = await bindFarm(nc, farmSettingsFromConfig(config, []), { schedulerBucket: true });
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e;
  }
  const weights = await watchServerWeights(farm, config.SCHEDULER_SERVER_WEIGHTS, log);
  const ttlMs = config.SCHEDULER_LEASE_MS;
  const lease = new KvLease({ kv: farm.scheduler, holder: id, ttlMs });
  let active: ActiveScheduler | undefined;
  let lastRenewed = 0;
  let leaders: (() => void)[] = [];
  let stopping = false;

  const stepDown = async (why: string): Promise<void> => {
    const a = active;
    active = undefined;
    if (!a) return;
    log.warn({ why }, 'no longer the active scheduler');
    await a.stop();
  };
  const round = async (): Promise<void> => {
    const now = Date.now();
    let held = false;
    try {
      held = await lease.acquire();
    } catch (err) {
      log.warn({ err }, 'lease check failed');
    }
    if (held) lastRenewed = now;
    if (active && (!lease.held || now - lastRenewed > (ttlMs * 2) / 3)) await stepDown('lease lost');
    if (held && !active && !stopping) {
      log.info('active scheduler: reading intake');
      active = new ActiveScheduler({
        farm,
        log,
        holder: id,
        settings: {
          prefetch: config.SCHEDULER_PREFETCH,
          memberMaxRunning: config.SCHEDULER_MEMBER_MAX_RUNNING,
          serverWeight: (s) => weights.current[s] ?? 1,
          serverWeights: () => weights.current,
        },
      });
      await active.start();
      for (const resolve of leaders) resolve();
      leaders = [];
    }
  };
  // Renew at a sixth of the lease; a standby checks as often, so a takeover comes within ~1⅓ leases.
  let loop: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      loop = loop.then(round).catch((err: unknown) => log.error({ err }, 'leadership round failed'));
    },
    Math.max(100, Math.floor(ttlMs / 6)),
  );
  loop = round();
  await loop;
  log.info({ leading: active !== undefined, ttlMs }, 'scheduler ready');

  return {
    id,
    farm,
    active: () => active,
    leading: () => (active ? Promise.resolve() : new Promise<void>((resolve) => leaders.push(resolve))),
    async stop() {
      stopping = true;
      clearInterval(timer);
      await loop.catch(() => undefined);
      await stepDown('stopping');
      await lease.release();
      weights.stop();
      await nc.drain().catch(() => undefined);
    },
  };
}

/** Weights from the config, replaced by the KV entry whenever the operator writes one. */
async function watchServerWeights(
  farm: Farm,
  fromConfig: Record<string, number>,
  log: Logger,
): Promise<{ current: Record<string, number>; stop(): void }> {
  const state = { current: { ...fromConfig }, stop: () => {} };
  const watch = await farm.scheduler.watch({ key: serverWeightsKey() });
  state.stop = () => watch.stop();
  void (async () => {
    for await (const e of watch) {
      if (e.operation !== 'PUT') {
        state.current = { ...fromConfig };
        continue;
      }
      const decoded = decodeMessage(ServerWeights, e.value, { name: 'server weights' });
      if (!decoded.ok) continue;
      state.current = { ...fromConfig, ...decoded.value.weights };
      log.info({ weights: state.current }, 'server weights');
    }
  })();
  return state;
}
