/**
 * A renderer process for integration tests: the real worker wiring (`startRenderer`) with the
 * `TestEngine`. Configured by the usual environment variables plus TEST_ENGINE_STEP_MS. Logs JSON
 * lines on stdout; SIGTERM stops it gracefully.
 */
import { createLogger, loadConfig } from '../../shared/src/index.js';
import { startRenderer } from '../../renderer/src/worker/renderer-process.js';
import { TestEngine } from './test-engine.js';

const config = loadConfig();
const log = createLogger({ level: config.LOG_LEVEL, name: 'renderer' });
const engine = new TestEngine({
  model: config.RENDERER_MODEL,
  stepMs: Number(process.env.TEST_ENGINE_STEP_MS ?? '20'),
});
const renderer = await startRenderer({ config, engine, log });
process.once('SIGTERM', () => {
  void renderer.stop().then(() => process.exit(0));
});
