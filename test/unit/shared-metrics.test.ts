import { afterEach, describe, expect, it } from 'vitest';
import { createFarmMetrics, startMetricsServer, type MetricsServer } from '../../shared/src/index.js';

describe('farm metrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function scrape(path = '/metrics'): Promise<{ status: number; text: string; type: string | null }> {
    const res = await fetch(`http://127.0.0.1:${server!.port}${path}`);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  }

  it('serves outcomes, render time, steps/s and queue depth on /metrics', async () => {
    const metrics = createFarmMetrics({
      role: 'renderer',
      queueDepth: async () => [{ consumer: 'tiny-shapes', depth: 7 }],
    });
    const at = new Date().toISOString();
    metrics.recordSettled({
      v: 1,
      type: 'done',
      jobId: 'j1',
      attempt: 1,
      at,
      image: { key: 'k', contentType: 'image/png', bytes: 1 },
      width: 32,
      height: 32,
      seed: 1,
      steps: 50,
      elapsedMs: 2000,
    });
    metrics.recordSettled({ v: 1, type: 'cancelled', jobId: 'j2', at, by: 'u' });
    server = await listenOnFreePort(metrics.registry);
    const { status, text, type } = await scrape();
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(text).toMatch(/tessera_jobs_total\{outcome="done",role="renderer"\} 1/);
    expect(text).toMatch(/tessera_jobs_total\{outcome="cancelled",role="renderer"\} 1/);
    expect(text).toMatch(/tessera_render_seconds_count\{role="renderer"\} 1/);
    expect(text).toMatch(/tessera_render_seconds_sum\{role="renderer"\} 2/);
    expect(text).toMatch(/tessera_render_steps_per_second\{role="renderer"\} 25/);
    expect(text).toMatch(/tessera_queue_depth\{consumer="tiny-shapes",role="renderer"\} 7/);
    expect(text).toMatch(/process_resident_memory_bytes\{role="renderer"\} \d+/);
    expect((await scrape('/other')).status).toBe(404);
  });

  it('counts Discord message edits and 429s, not other requests', async () => {
    const metrics = createFarmMetrics({ role: 'bot', processMetrics: false });
    metrics.recordDiscordResponse({ method: 'PATCH', path: '/channels/1/messages/2' }, 200);
    metrics.recordDiscordResponse({ method: 'PATCH', path: '/webhooks/1/tok/messages/@original' }, 429);
    metrics.recordDiscordResponse({ method: 'POST', path: '/channels/1/messages' }, 200);
    metrics.recordDiscordResponse({ method: 'PUT', path: '/channels/1/messages/2/reactions/x/@me' }, 429);
    server = await listenOnFreePort(metrics.registry);
    const { text } = await scrape();
    expect(text).toMatch(/tessera_discord_edits_total\{role="bot"\} 2/);
    expect(text).toMatch(/tessera_discord_rate_limited_total\{role="bot"\} 2/);
    expect(text).not.toMatch(/process_resident_memory_bytes/);
  });

  it('is off on port 0, and a failing queue source leaves the scrape working', async () => {
    const metrics = createFarmMetrics({
      role: 'bot',
      processMetrics: false,
      queueDepth: () => Promise.reject(new Error('NATS down')),
    });
    expect(await startMetricsServer(0, metrics.registry)).toBeUndefined();
    server = await listenOnFreePort(metrics.registry);
    const { status, text } = await scrape();
    expect(status).toBe(200);
    expect(text).toContain('# TYPE tessera_queue_depth gauge');
    expect(text).not.toMatch(/tessera_queue_depth\{/);
  });
});

async function listenOnFreePort(registry: Parameters<typeof startMetricsServer>[1]): Promise<MetricsServer> {
  const { freePort } = await import('../support/nats-server.js');
  const server = await startMetricsServer(await freePort(), registry, { host: '127.0.0.1' });
  if (!server) throw new Error('metrics server did not start');
  return server;
}
