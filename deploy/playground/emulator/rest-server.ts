/**
 * The emulator's HTTP side: `/api/v10/...` routed to `rest-routes.ts` behind bot auth, rate-limit
 * headers and injected 429s, an optional response latency, and a log of every request with the
 * number of edits in flight per message (so tests can check "at most one edit in flight").
 * Also serves stored attachments at `/attachments/:id/:filename`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatedApiError, unauthorized } from './errors.js';
import { parseMessageRequest, readBody, sendJson } from './http-util.js';
import type { RateLimiter, RouteInfo } from './rate-limits.js';
import { routes, type RouteContext, type RouteDef } from './rest-routes.js';
import type { EmulatorWorld } from './world.js';

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  route: string;
  status: number;
  /** Discord error code, when the answer was an error. */
  code?: number;
  /** The message an edit targeted, when the route edits one. */
  messageId?: string;
  durationMs: number;
}

export interface RestServerOptions {
  world: EmulatorWorld;
  limiter: RateLimiter;
  gatewayUrl: () => string;
  /** Delay before each API answer (makes overlapping requests observable). */
  latencyMs: () => number;
  /** Extra handlers tried before the 404 (the playground adds its page and API here). */
  fallback?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
}

interface CompiledRoute {
  def: RouteDef;
  regex: RegExp;
  names: string[];
}

function compile(def: RouteDef): CompiledRoute {
  const names: string[] = [];
  const pattern = def.path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { def, regex: new RegExp(`^${pattern}$`), names };
}

export class RestServer {
  readonly log: RequestRecord[] = [];
  private readonly compiled = routes.map(compile);
  private readonly inFlight = new Map<string, number>();
  /** Highest number of simultaneous edit requests seen per message id. */
  readonly maxInFlight = new Map<string, number>();

  constructor(private readonly options: RestServerOptions) {}

  /** `http.Server` request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { code: 0, message: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const api = /^\/api(?:\/v\d+)?(\/.*)$/.exec(url.pathname);
    if (!api) {
      if (req.method === 'GET' && url.pathname.startsWith('/attachments/'))
        return this.serveAttachment(url, res);
      if (this.options.fallback && (await this.options.fallback(req, res, url))) return;
      sendJson(res, 404, { code: 0, message: '404: Not Found' });
      return;
    }
    const path = api[1]!;
    const method = (req.method ?? 'GET').toUpperCase();
    const match = this.match(method, path);
    const started = Date.now();
    if (!match) {
      await readBody(req);
      this.record({
        at: started,
        method,
        path,
        route: `${method} ${path}`,
        status: 404,
        code: 0,
        durationMs: 0,
      });
      sendJson(res, 404, { code: 0, message: '404: Not Found' });
      return;
    }
    const { def, params } = match;
    const routeName = `${method} ${def.path}`;
    const info: RouteInfo = {
      method,
      route: routeName,
      major: def.major ? (params[def.major] ?? '') : '',
      path,
    };
    let messageId: string | undefined;
    try {
      const raw = await readBody(req);
      const { body, files } = await parseMessageRequest(req.headers['content-type'], raw);
      messageId = this.editedMessageId(def, params, body);
      if (messageId) this.enter(messageId);
      const latency = this.options.latencyMs();
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      const authed = req.headers.authorization === `Bot ${this.options.world.options.botToken}`;
      if (def.auth && !authed) throw unauthorized();
      const decision = this.options.limiter.check(info);
      if (decision.status === 429) {
        this.record({
          at: started,
          method,
          path,
          route: routeName,
          status: 429,
          messageId: messageId || undefined,
          durationMs: Date.now() - started,
        });
        sendJson(res, 429, decision.body, decision.headers);
        return;
      }
      const [status, json] = await def.handle(this.context(), {
        params,
        query: url.searchParams,
        body,
        files,
        authed,
      });
      this.record({
        at: started,
        method,
        path,
        route: routeName,
        status,
        messageId: messageId || undefined,
        durationMs: Date.now() - started,
      });
      sendJson(res, status, json, decision.headers);
    } catch (err) {
      if (!(err instanceof EmulatedApiError)) throw err;
      this.record({
        at: started,
        method,
        path,
        route: routeName,
        status: err.status,
        code: err.code,
        messageId: messageId || undefined,
        durationMs: Date.now() - started,
      });
      sendJson(res, err.status, err.toJSON());
    } finally {
      if (messageId) this.leave(messageId);
    }
  }

  private context(): RouteContext {
    return { world: this.options.world, gatewayUrl: this.options.gatewayUrl };
  }

  private match(method: string, path: string): { def: RouteDef; params: Record<string, string> } | undefined {
    for (const c of this.compiled) {
      if (c.def.method !== method) continue;
      const m = c.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { def: c.def, params };
    }
    return undefined;
  }

  /**
   * For message edit routes: which message (resolving `@original` through the interaction). An
   * UPDATE_MESSAGE callback (type 7) edits the message its component is on, so it counts too.
   */
  private editedMessageId(
    def: RouteDef,
    params: Record<string, string>,
    body: Record<string, unknown>,
  ): string | undefined {
    if (def.path.endsWith('/callback') && Number(body.type) === 7)
      return this.options.world.interactions.get(params.interaction ?? '')?.sourceMessageId;
    if (def.method !== 'PATCH' || !params.message) return undefined;
    if (params.message !== '@original') return params.message;
    return params.token ? this.options.world.interactionForToken(params.token)?.originalMessageId : undefined;
  }

  private enter(messageId: string): void {
    const n = (this.inFlight.get(messageId) ?? 0) + 1;
    this.inFlight.set(messageId, n);
    if (n > (this.maxInFlight.get(messageId) ?? 0)) this.maxInFlight.set(messageId, n);
  }

  private leave(messageId: string): void {
    const n = (this.inFlight.get(messageId) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(messageId);
    else this.inFlight.set(messageId, n);
  }

  private record(r: RequestRecord): void {
    this.log.push(r);
    // Keep memory bounded in long playground sessions.
    if (this.log.length > 50_000) this.log.splice(0, 10_000);
  }

  private serveAttachment(url: URL, res: ServerResponse): void {
    const id = url.pathname.split('/')[2] ?? '';
    const a = this.options.world.attachments.get(id);
    if (!a) {
      sendJson(res, 404, { code: 0, message: '404: Not Found' });
      return;
    }
    res.writeHead(200, {
      'content-type': a.contentType,
      'content-length': a.data.byteLength,
      'cache-control': 'max-age=3600',
    });
    res.end(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  }
}
