/** The shapes a REST route of the emulator is written in, shared by the route tables. */
import type { StoredMessage } from './model.js';
import { messagePayload } from './payloads.js';
import type { EmulatorWorld, UploadedFile } from './world.js';

export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  files: UploadedFile[];
  /** The bot token from `Authorization: Bot …`, when present and valid. */
  authed: boolean;
}

export interface RouteContext {
  world: EmulatorWorld;
  gatewayUrl: () => string;
}

export type RouteResult = [status: number, body: unknown];

export interface RouteDef {
  method: string;
  /** Path template after `/api/v10`, `:name` for parameters. */
  path: string;
  /** Bot routes need `Authorization: Bot <token>`; webhook and callback routes carry none. */
  auth: boolean;
  /** The parameter Discord buckets by. */
  major?: string;
  handle: (ctx: RouteContext, req: RouteRequest) => RouteResult | Promise<RouteResult>;
}

export const msg = (ctx: RouteContext, m: StoredMessage): unknown => messagePayload(m, ctx.world);
