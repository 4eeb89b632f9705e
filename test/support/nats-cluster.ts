/**
 * A real 3-node `nats-server` cluster for tests: each node on free client and route ports, with
 * JetStream and its own temporary store, routed to the others. A node can be SIGKILLed and started
 * again on the same ports and store; helpers find a stream's leader and the node a client uses.
 * Auth is on as on a single test server: every node includes the same generated `auth.conf`
 * (`writeAuthConfig`, one nkey per role), and the handle hands out `connect(role)` / `env(role)`
 * like `NatsServerHandle`, so the farm harness takes a cluster too. Routes carry no auth: they
 * listen on loopback only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  connectNats,
  ensureCredentials,
  writeAuthConfig,
  type FarmCredentials,
  type FarmRole,
  type NatsConnection,
} from '../../shared/src/index.js';
import type { TestServer } from './farm-harness.js';
import { freePort } from './nats-server.js';

export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  running(): boolean;
  /** SIGKILL (or SIGTERM with `{ kill: false }`), and wait for the process to exit. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts the node again with the same ports and store. */
  start(): Promise<void>;
  output(): string;
}

export interface NatsCluster extends TestServer {
  readonly nodes: readonly ClusterNode[];
  /** The temporary folder holding every node's store (`store-N`), config and credentials. */
  readonly dir: string;
  /** Every node's URL, comma-separated (what `NATS_URL` holds for a cluster). */
  readonly url: string;
  /** The role credentials every node accepts. */
  readonly credentials: FarmCredentials;
  node(name: string): ClusterNode;
  /** Waits until JetStream answers through every running node (a meta leader is elected). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** The `server_name` of the node that leads `stream` (asked through `nc`). */
  streamLeader(nc: NatsConnection, stream: string): Promise<string | undefined>;
  dispose(): Promise<void>;
}

/**
 * The nats-server the cluster runs: `TESSERA_CLUSTER_NATS_SERVER` (what `npm run test:cluster` sets
 * from deploy/scripts/cluster-nats-server.sh, a server >= 2.9.21), else the one on PATH.
 */
export function clusterServerBinary(): string {
  return process.env.TESSERA_CLUSTER_NATS_SERVER || 'nats-server';
}

/** The cluster's nats-server version (`[2, 10, 27]`), from `--version`. */
export function clusterServerVersion(): number[] {
  const out = execFileSync(clusterServerBinary(), ['--version'], { encoding: 'utf8' });
  const match = out.match(/v(\d+)\.(\d+)\.(\d+)/);
  if (!match) throw new Error(`cannot read the version of ${clusterServerBinary()}: ${out}`);
  return match.slice(1).map(Number);
}

/** The `server_name` of the node a client is connected to now. */
export function connectedNode(nc: NatsConnection): string | undefined {
  return nc.info?.server_name;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

function nodeConfig(o: { name: string; port: number; routePort: number; routes: number[]; store: string }) {
  return [
    'include "auth.conf"',
    `server_name: ${o.name}`,
    `listen: 127.0.0.1:${o.port}`,
    `jetstream { store_dir: "${o.store}" }`,
    'cluster {',
    '  name: tessera-test',
    `  listen: 127.0.0.1:${o.routePort}`,
    `  routes: [${o.routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

function makeNode(name: string, port: number, routePort: number, args: string[]): ClusterNode {
  let child: ChildProcess | undefined;
  let log = '';
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name,
    url: `nats://127.0.0.1:${port}`,
    port,
    routePort,
    running,
    output: () => log,
    async start() {
      if (running()) return;
      const proc = spawn(clusterServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
      proc.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
      child = proc;
      await waitForPort(port, proc, 15_000);
    },
    async stop({ kill = true } = {}) {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(kill ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * How a node is started: by default a generated config (`nodeConfig`); `shippedConfig` runs a
 * config file of deploy/nats/cluster instead, with ports, routes and store overridden.
 */
export interface ClusterOptions {
  size?: number;
  /** Node i's config file (copied into the cluster's temp folder with its `include`s). */
  shippedConfig?: (index: number) => { file: string; includes: string[] };
}

/** Connects as `role` to the given seed URLs with that role's nkey. */
async function connectAs(
  url: string,
  credentials: FarmCredentials,
  role: FarmRole,
  options: { name?: string; waitOnFirstConnect?: boolean } = {},
): Promise<NatsConnection> {
  const seed = (await readFile(credentials[role].seedFile, 'utf8')).trim();
  return connectNats({
    url,
    name: options.name ?? `test-${role}`,
    role,
    waitOnFirstConnect: options.waitOnFirstConnect ?? true,
    nkeySeed: new TextEncoder().encode(seed),
  });
}

/**
 * Starts `size` (default 3) routed JetStream nodes named `n1`, `n2`, … and waits for JetStream.
 * Ports are picked free and released before the nodes bind them, so another process on the
 * machine can take one in between: then the whole cluster starts again on new ports.
 */
export async function startNatsCluster(options: ClusterOptions = {}): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-cluster-'));
  const credentials = await ensureCredentials(path.join(dir, 'credentials'));
  const authFile = await writeAuthConfig(path.join(dir, 'auth.conf'), credentials);
  const ports: { port: number; routePort: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ port: await freePort(), routePort: await freePort() });
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const { port, routePort } = ports[i]!;
    const routes = ports.filter((_, j) => j !== i).map((p) => p.routePort);
    const store = path.join(dir, `store-${i + 1}`);
    if (options.shippedConfig) {
      const shipped = options.shippedConfig(i);
      const args = await stageShippedConfig(path.join(dir, `node-${i + 1}`), shipped, store, authFile);
      const routeUrls = ports.map((p) => `nats://127.0.0.1:${p.routePort}`).join(',');
      const overrides = ['-a', '127.0.0.1', '-p', String(port), '-m', '0'];
      args.push(...overrides, '--cluster', `nats://127.0.0.1:${routePort}`, '--routes', routeUrls);
      const name = (await readFile(shipped.file, 'utf8')).match(/^server_name:\s*(\S+)/m)?.[1] ?? `n${i + 1}`;
      nodes.push(makeNode(name, port, routePort, args));
      continue;
    }
    const name = `n${i + 1}`;
    const confFile = path.join(dir, `${name}.conf`);
    await writeFile(confFile, nodeConfig({ name, port, routePort, routes, store }));
    nodes.push(makeNode(name, port, routePort, ['-c', confFile]));
  }
  const url = nodes.map((n) => n.url).join(',');
  const cluster: NatsCluster = {
    dir,
    nodes,
    url,
    credentials,
    connect: (role, opts) => connectAs(url, credentials, role, opts),
    env: (role) => ({ NATS_URL: url, NATS_NKEY_FILE: credentials[role].seedFile }),
    node: (name) => {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
    waitForJetStream: (timeoutMs = 90_000) => waitForJetStream(nodes, credentials, timeoutMs),
    async streamLeader(nc, stream) {
      const jsm = await jetstreamManager(nc);
      return (await jsm.streams.info(stream)).cluster?.leader;
    },
    async dispose() {
      // TESSERA_TEST_VIOLATIONS=1 prints what the nodes refused (to find a missing permission).
      if (process.env.TESSERA_TEST_VIOLATIONS) {
        for (const n of nodes)
          for (const line of n
            .output()
            .split('\n')
            .filter((l) => /Violation|Authorization/i.test(l)))
            process.stderr.write(`[nats ${n.name}] ${line}\n`);
      }
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.waitForJetStream();
  } catch (e) {
    const logs = nodes.map((n) => `${n.name}:\n${n.output().slice(-2000)}`).join('\n');
    await cluster.dispose();
    throw new Error(`the cluster did not come up: ${(e as Error).message}\n${logs}`);
  }
  return cluster;
}

/**
 * Copies a shipped config and its includes into `dir`, pointing `store_dir` at `store`, and puts
 * the generated `auth.conf` next to them (where `tessera credentials` output is mounted in deploy).
 */
async function stageShippedConfig(
  dir: string,
  shipped: { file: string; includes: string[] },
  store: string,
  authFile: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'auth.conf'), await readFile(authFile, 'utf8'));
  for (const file of [shipped.file, ...shipped.includes]) {
    const text = await readFile(file, 'utf8');
    await writeFile(
      path.join(dir, path.basename(file)),
      text.replace(/store_dir:\s*\S+/, `store_dir: "${store}"`),
    );
  }
  return ['-c', path.join(dir, path.basename(shipped.file))];
}

async function waitForJetStream(
  nodes: readonly ClusterNode[],
  credentials: FarmCredentials,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const retry = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    for (;;) {
      try {
        await fn();
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`${what}: ${String(e)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const running = nodes.filter((n) => n.running());
  for (const node of running) {
    const nc = await connectAs(node.url, credentials, 'admin', {
      name: 'cluster-probe',
      waitOnFirstConnect: false,
    });
    try {
      await retry(`JetStream not ready on ${node.name}`, async () => {
        await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
      });
      if (node !== running[0]) continue;
      // Placement needs every peer's report to the meta leader: place a stream on all of them.
      await retry('cannot place a stream on every node', async () => {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        const probe = { name: 'CLUSTER_PROBE', subjects: ['cluster-probe.>'], num_replicas: running.length };
        await jsm.streams.add(probe);
        await jsm.streams.delete(probe.name);
      });
    } finally {
      await nc.close();
    }
  }
}
