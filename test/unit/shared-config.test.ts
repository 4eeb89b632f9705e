import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARS,
  ConfigError,
  configTableMarkdown,
  createLogger,
  loadConfig,
} from '../../shared/src/index.js';
import { Writable } from 'node:stream';

describe('loadConfig', () => {
  it('applies the defaults of the table', () => {
    const c = loadConfig({});
    expect(c.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(c.RENDERER_EP).toBe('auto');
    expect(c.JOB_ACK_WAIT_MS).toBe(30_000);
    expect(c.RENDERER_ID).toMatch(/-\d+$/);
    expect(c.DISCORD_TOKEN).toBeUndefined();
  });

  it('names every bad variable and what it expected, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ RENDERER_EP: 'gpu', JOB_MAX_DELIVER: '0', NATS_URL: 'localhost:4222', NATS_PASSWORD: '' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('RENDERER_EP: expected one of "auto"|"cpu"|"webgpu"|"cuda", got "gpu"');
    expect(message).toContain('JOB_MAX_DELIVER: expected an integer from 1 to 100, got "0"');
    expect(message).toContain('NATS_URL: expected a nats:// URL');
    expect((error as ConfigError).problems.map((p) => p.name).sort()).toEqual([
      'JOB_MAX_DELIVER',
      'NATS_URL',
      'RENDERER_EP',
    ]);
  });

  it('generates a README row for every variable', () => {
    const table = configTableMarkdown();
    for (const name of Object.keys(CONFIG_VARS)) expect(table).toContain(`\`${name}\``);
  });
});

describe('createLogger', () => {
  it('redacts tokens wherever they show up', () => {
    let out = '';
    const destination = new Writable({ write: (chunk, _enc, cb) => ((out += chunk.toString()), cb()) });
    const log = createLogger({ level: 'info', name: 't', destination });
    log.info(
      {
        config: { DISCORD_TOKEN: 'sekrit-1', NATS_PASSWORD: 'sekrit-2' },
        job: { discord: { interactionToken: 'sekrit-3' } },
      },
      'hi',
    );
    expect(out).toContain('[redacted]');
    expect(out).not.toMatch(/sekrit/);
  });
});

describe('the README configuration table', () => {
  it('is the one generated from CONFIG_VARS', async () => {
    const { readFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const root = path.resolve(import.meta.dirname, '..', '..');
    const docs = await Promise.all(
      ['README.md'].map((f) => readFile(path.join(root, f), 'utf8').catch(() => '')),
    );
    const withTable = docs.filter((d) => d.includes('| variable | default | used by | meaning |'));
    expect(withTable.length, 'a README with the configuration table').toBeGreaterThan(0);
    for (const doc of withTable) expect(doc).toContain(configTableMarkdown());
  });
});
