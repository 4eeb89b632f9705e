/**
 * A small wrapper over the container engine (podman or docker) for the image smoke test: build,
 * run detached on the host network, read logs, stop with SIGTERM, inspect. With podman on these
 * machines containers run under runc with lowered rlimits (crun fails on hybrid cgroups; raising
 * rlimits is refused), see DESIGN §8.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface ContainerEngine {
  readonly bin: string;
  readonly kind: 'podman' | 'docker';
  /** Flags before the subcommand (`podman --runtime …`). */
  readonly global: string[];
  /** Flags of every `run`. */
  readonly runFlags: string[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function detectEngine(): ContainerEngine | undefined {
  const wanted = process.env.ENGINE;
  for (const bin of wanted ? [wanted] : ['/usr/bin/podman', '/usr/bin/docker', '/usr/local/bin/docker']) {
    if (!existsSync(bin)) continue;
    if (path.basename(bin) !== 'podman')
      return { bin, kind: 'docker', global: [], runFlags: ['--network', 'host'] };
    return {
      bin,
      kind: 'podman',
      global: existsSync('/usr/sbin/runc') ? ['--runtime', '/usr/sbin/runc'] : [],
      runFlags: ['--network', 'host', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'],
    };
  }
  return undefined;
}

export function run(
  bin: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
) {
  return new Promise<CommandResult>((resolve) => {
    execFile(
      bin,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

export function engineRun(
  engine: ContainerEngine,
  args: string[],
  timeoutMs?: number,
): Promise<CommandResult> {
  return run(engine.bin, [...engine.global, ...args], timeoutMs === undefined ? {} : { timeoutMs });
}

/** Runs deploy/scripts/build-image.sh, streaming its output to `onLine`. */
export function buildImage(
  root: string,
  env: Record<string, string>,
  onLine: (line: string) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(root, 'deploy', 'scripts', 'build-image.sh')], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export interface StartOptions {
  name: string;
  image: string;
  env: Record<string, string>;
  args: string[];
  /** Host file → path in the container, mounted read-only (e.g. a role's nkey seed). */
  mounts?: Record<string, string>;
}

export async function startContainer(engine: ContainerEngine, o: StartOptions): Promise<void> {
  await engineRun(engine, ['rm', '-f', o.name]);
  const env = Object.entries(o.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const mounts = Object.entries(o.mounts ?? {}).flatMap(([host, inside]) => ['-v', `${host}:${inside}:ro`]);
  const r = await engineRun(engine, [
    'run',
    '-d',
    '--name',
    o.name,
    ...engine.runFlags,
    ...env,
    ...mounts,
    o.image,
    ...o.args,
  ]);
  if (r.code !== 0) throw new Error(`${engine.kind} run ${o.name} failed: ${r.stderr}`);
}

export async function containerLogs(engine: ContainerEngine, name: string): Promise<string> {
  const r = await engineRun(engine, ['logs', name]);
  return r.stdout + r.stderr;
}

/** pino JSON lines of a container's log. */
export async function logRecords(engine: ContainerEngine, name: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const line of (await containerLogs(engine, name)).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log record
    }
  }
  return out;
}

/** Waits for a log record whose `msg` is `msg`; returns it (its `time` is ISO). */
export async function waitForLog(
  engine: ContainerEngine,
  name: string,
  msg: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = (await logRecords(engine, name)).find((r) => r.msg === msg);
    if (found) return found;
    const state = await engineRun(engine, ['inspect', name, '--format', '{{.State.Status}}']);
    if (state.stdout.trim() === 'exited') {
      throw new Error(`${name} exited before "${msg}":\n${await containerLogs(engine, name)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name}: no "${msg}" within ${timeoutMs} ms:\n${await containerLogs(engine, name)}`);
}

export async function exitCode(engine: ContainerEngine, name: string): Promise<number> {
  const r = await engineRun(engine, ['inspect', name, '--format', '{{.State.ExitCode}}']);
  return Number(r.stdout.trim());
}

export async function imageSizeBytes(engine: ContainerEngine, image: string): Promise<number> {
  const r = await engineRun(engine, ['image', 'inspect', image, '--format', '{{.Size}}']);
  return Number(r.stdout.trim());
}
