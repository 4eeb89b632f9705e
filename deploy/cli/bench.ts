/**
 * `tessera bench` (`npm run bench`): the engine's steps/s against PyTorch eager, then the bot's
 * CPU per progress frame when the bot's benchmark is part of this checkout.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runEngineBench } from '../../renderer/src/bench/engine-bench.js';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: tessera bench\n\nPrints engine steps/s (CPU) vs PyTorch eager, and the bot benchmark when present.\n');
    return 0;
  }
  await runEngineBench();
  // Loaded by path: the bot's benchmark is another package's optional part.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const botBench = new URL(`../../bot/src/bench/bot-bench.${ext}`, import.meta.url);
  if (existsSync(fileURLToPath(botBench))) {
    const mod = (await import(botBench.href)) as { runBotBench?: () => Promise<void> };
    if (typeof mod.runBotBench === 'function') await mod.runBotBench();
  } else {
    process.stdout.write('bot     skipped: bot/src/bench/bot-bench is not in this checkout\n');
  }
  return 0;
}
