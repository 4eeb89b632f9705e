import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../renderer/src/worker/health.js';

describe('renderer health endpoint', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers /readyz from the source and /livez always', async () => {
    let why: string | undefined = 'NATS connection closed';
    server = await startHealthServer(0, { notReady: () => why }, '127.0.0.1');
    const base = `http://127.0.0.1:${server.port}`;

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready: NATS connection closed\n');
    expect((await fetch(`${base}/livez`)).status).toBe(200);

    why = undefined;
    const ready = await fetch(`${base}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\n');
  });

  it('serves nothing else', async () => {
    server = await startHealthServer(0, { notReady: () => undefined }, '127.0.0.1');
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});
