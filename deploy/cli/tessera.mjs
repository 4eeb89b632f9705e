#!/usr/bin/env node
// The `tessera` command. TypeScript runs through tsx; we re-exec node with the tsx loader
// on its command line (not registered from here) so worker_threads inherit it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

const child = spawn(process.execPath, ['--import', tsxLoader, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches the child through the terminal's process group; other signals are forwarded.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 128 + 1 : 1);
});
