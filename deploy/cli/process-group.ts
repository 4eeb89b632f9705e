/**
 * Child processes of `tessera start`: each writes its output to a log file, warnings and errors
 * are echoed to the terminal, and `stopAll()` stops them in reverse start order (the services
 * first, NATS last) so that a renderer can hand its job back before the server goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lines seen so far (last 200), for error messages. */
  tail(): string[];
}

const LEVELS: Record<number, string> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Echoes pino JSON lines of level ≥ warn (and any non-JSON line on stderr) to the terminal. */
function echo(name: string, line: string, fromStderr: boolean): void {
  if (name === 'nats') {
    // nats-server logs plain lines to stderr: show only warnings, errors and fatals.
    if (/\[(WRN|ERR|FTL)\]/.test(line)) process.stderr.write(`[${name}] ${line}\n`);
    return;
  }
  try {
    const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    if (typeof entry.level === 'number' && entry.level >= 40) {
      process.stderr.write(
        `[${name}] ${LEVELS[entry.level] ?? entry.level} ${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}\n`,
      );
    }
  } catch {
    if (fromStderr && line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
  }
}

export function startManaged(options: {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  cwd?: string;
}): ManagedProcess {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  // Own process group: Ctrl-C reaches only `tessera start`, which stops the children in order.
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const feed = (fromStderr: boolean) => {
    let partial = '';
    return (chunk: Buffer): void => {
      log.write(chunk);
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        echo(options.name, line, fromStderr);
      }
    };
  };
  child.stdout?.on('data', feed(false));
  child.stderr?.on('data', feed(true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      lines.push(`cannot start ${options.command}: ${err.message}`);
      log.end();
      resolve({ code: 127, signal: null });
    });
  });
  return { name: options.name, child, logFile: options.logFile, exited, tail: () => [...lines] };
}

export function isRunning(p: ManagedProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null && p.child.pid !== undefined;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopManaged(p: ManagedProcess, graceMs: number): Promise<void> {
  if (!isRunning(p)) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(p)) p.child.kill('SIGKILL');
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
}
