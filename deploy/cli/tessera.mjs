#!/usr/bin/env node
// The `tessera` command. TypeScript runs through tsx; we re-exec node with the tsx loader
// on its command line (not registered from here) so worker_threads inherit it.
//
// The child lives and dies with this wrapper:
// - It runs in its own process group, so a terminal's Ctrl-C reaches only the wrapper, which
//   forwards it once (npm also forwards Ctrl-C to us: the same signal twice within a second is
//   forwarded once). SIGTERM, SIGHUP and SIGQUIT are forwarded too; Ctrl-Z stops both.
// - It holds an IPC channel to us (deploy/cli/main.ts watches it): when the wrapper dies, even
//   by SIGKILL, the channel closes and the child stops as on SIGTERM.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

const child = spawn(process.execPath, ['--import', tsxLoader, main, ...process.argv.slice(2)], {
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  detached: true,
});

const lastForwarded = new Map();
function forward(signal) {
  const now = Date.now();
  if (now - (lastForwarded.get(signal) ?? Number.NEGATIVE_INFINITY) < 1000) return;
  lastForwarded.set(signal, now);
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(signal, () => forward(signal));
process.on('SIGTSTP', () => {
  child.kill('SIGSTOP');
  process.kill(process.pid, 'SIGSTOP');
});
process.on('SIGCONT', () => child.kill('SIGCONT'));

child.on('error', (err) => {
  process.stderr.write(`tessera: cannot start node: ${err.message}\n`);
  process.exitCode = 1;
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 1) : 1);
  // Our signal handlers and the IPC channel would keep us alive: go now that the child is gone.
  process.exit();
});
