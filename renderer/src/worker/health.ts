/**
 * A tiny HTTP health endpoint for orchestrators (Kubernetes probes), on RENDERER_HEALTH_PORT:
 * - `GET /livez`  200 while the process serves HTTP at all;
 * - `GET /readyz` 200 while the renderer takes jobs (NATS connected, not stopping), else 503.
 * Nothing else is served; it answers a few bytes of text and never reads a body.
 */
import http from 'node:http';

export interface HealthSource {
  /** Undefined when ready; otherwise why not (shown in the 503 body). */
  notReady(): string | undefined;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startHealthServer(
  port: number,
  source: HealthSource,
  host = '0.0.0.0',
): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed');
    if (path === '/livez') return reply(200, 'ok');
    if (path === '/readyz') {
      const why = source.notReady();
      return why === undefined ? reply(200, 'ready') : reply(503, `not ready: ${why}`);
    }
    return reply(404, 'not found (try /readyz or /livez)');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
