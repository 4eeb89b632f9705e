/**
 * The REST routes discord.js 14 uses for a slash-command bot, answered from the emulator's world.
 * Each handler gets the path parameters and the parsed request; it returns `[status, json]` or
 * throws an `EmulatedApiError`.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import { appRoutes } from './rest-routes-app.js';
import { channelRoutes } from './rest-routes-channels.js';
import { guildRoutes } from './rest-routes-guilds.js';
import { interactionRoutes } from './rest-routes-interactions.js';
import type { RouteDef } from './rest-route-types.js';

export type { RouteContext, RouteDef, RouteRequest, RouteResult } from './rest-route-types.js';

export const routes: RouteDef[] = [...appRoutes, ...interactionRoutes, ...channelRoutes, ...guildRoutes];
